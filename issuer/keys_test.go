package issuer_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/issuer"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
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
