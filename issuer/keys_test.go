package issuer_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/issuer"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
	"github.com/gatehouse-authz/gatehouse/token"
)

// TestScheduledRotation: with RotateEvery set, the ring rotates by itself
// and keeps the previous key published.
func TestScheduledRotation(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := issuer.NewSealer(bytes.Repeat([]byte{7}, 32))
	ring, err := issuer.NewKeyRing(t.Context(), issuer.KeyRingOptions{
		Store: st, Sealer: sealer, Keep: time.Hour, PollInterval: 50 * time.Millisecond, RotateEvery: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	first := ring.Signer().KeyID()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go ring.Run(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for ring.Signer().KeyID() == first {
		if time.Now().After(deadline) {
			t.Fatal("no scheduled rotation")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !bytes.Contains(ring.JWKS(), []byte(first)) {
		t.Fatal("the previous key left the JWKS at once")
	}
}

// TestFirstKeyFromAnEarlierKeyFile: a store with no keys starts with the
// key DATA_DIR's key file held, so tokens signed before the keys moved into
// the store still verify; a store that has keys ignores it.
func TestFirstKeyFromAnEarlierKeyFile(t *testing.T) {
	dir := t.TempDir()
	legacy, err := token.LoadOrCreateFileKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	first, err := token.ReadFileKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := issuer.NewSealer(bytes.Repeat([]byte{7}, 32))
	ring, err := issuer.NewKeyRing(t.Context(), issuer.KeyRingOptions{Store: st, Sealer: sealer, Keep: time.Hour, FirstKey: first})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ring.Signer().KeyID(), legacy.KeyID(); got != want {
		t.Fatalf("signing kid %q, want the key file's %q", got, want)
	}
	if _, _, err := ring.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	other, err := token.ReadFileKey(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) || other != nil {
		t.Fatalf("no key file: %v %v", other, err)
	}
	again, err := issuer.NewKeyRing(t.Context(), issuer.KeyRingOptions{Store: st, Sealer: sealer, Keep: time.Hour, FirstKey: first})
	if err != nil {
		t.Fatal(err)
	}
	if again.Signer().KeyID() == legacy.KeyID() {
		t.Fatal("a store with keys took the key file's key again")
	}
	if !bytes.Contains(again.JWKS(), []byte(legacy.KeyID())) {
		t.Fatal("the key file's key left the JWKS at once")
	}
}
