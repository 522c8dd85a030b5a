package peer

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// FuzzParse feeds arbitrary tokens to the parser and the whole verifier:
// neither may panic, and whatever they accept must carry a valid peer claim,
// a verified signature, times and a jti.
func FuzzParse(f *testing.F) {
	s := &Signer{Secret: []byte(testSecret), HostID: "node-b", Now: func() time.Time { return time.Unix(1767225600, 0) }}
	good, _ := s.Token()
	bound, _ := s.SignRequest("POST", "/synchronize", []byte("x"))
	f.Add(good)
	f.Add(bound)
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJwZWVyIjoiMSJ9.x")
	a, err := New(context.Background(), Options{Secrets: [][]byte{[]byte(testSecret)}, HostID: "self", Strict: false,
		Now: func() time.Time { return time.Unix(1767225610, 0) }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		tok, err := Parse(token)
		if err == nil {
			if validPeerID(tok.Claims.Peer) != nil {
				t.Fatalf("accepted peer claim %q", tok.Claims.Peer)
			}
			tok.Verify([][]byte{[]byte(testSecret)})
		}
		id, err := a.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: token, Peer: true},
			&gatehouse.Request{Method: "POST", Path: "/synchronize", Body: []byte("x"), SourceIP: "10.0.0.1"})
		if err == nil {
			if id.Kind != gatehouse.KindPeer || id.Subject == "" || id.Subject == "self" {
				t.Fatalf("identity %+v", id)
			}
			if tok == nil || !tok.Verify([][]byte{[]byte(testSecret)}) || tok.Claims.ID == "" || !tok.Claims.Has("exp") {
				t.Fatalf("accepted a token the parser refused or that is unsigned: %q", token)
			}
		}
	})
}
