package token

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

func TestFileKeyIsCreatedOnceAndShared(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	kids := make([]string, 4)
	for i := range kids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := LoadOrCreateFileKey(dir)
			if err != nil {
				t.Error(err)
				return
			}
			kids[i] = s.KeyID()
		}()
	}
	wg.Wait()
	for _, k := range kids[1:] {
		if k != kids[0] {
			t.Fatalf("concurrent starts disagree on the key: %v", kids)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, keyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("key file is readable by others: %v", fi.Mode())
	}
	again, err := LoadOrCreateFileKey(dir)
	if err != nil || again.KeyID() != kids[0] {
		t.Fatalf("restart lost the key: %v", err)
	}
}

func TestMintAccessVerifiesWithPublishedJWKS(t *testing.T) {
	s, err := LoadOrCreateFileKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(s.JWKS()), `"d"`) {
		t.Fatal("JWKS leaks the private exponent")
	}
	tok, err := s.MintAccess(AccessClaims{Issuer: "http://localhost:8080/oidc", Audience: "controller", Subject: "alice", Groups: []string{"admin"}, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	set, err := jwk.Parse(s.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse([]byte(tok), jwt.WithKeySet(set), jwt.WithIssuer("http://localhost:8080/oidc"), jwt.WithAudience("controller"))
	if err != nil {
		t.Fatalf("minted token does not verify: %v", err)
	}
	var groups []any
	if err := parsed.Get("groups", &groups); err != nil || len(groups) != 1 || groups[0] != "admin" {
		t.Fatalf("groups claim: %v %v", groups, err)
	}
	var use string
	if err := parsed.Get("token_use", &use); err != nil || use != "access" {
		t.Fatalf("token_use: %q %v", use, err)
	}
	hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil || !strings.Contains(string(hdr), `"typ":"at+jwt"`) {
		t.Fatalf("typ is not at+jwt: %s %v", hdr, err)
	}
}
