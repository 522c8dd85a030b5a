package peer

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// DefaultTTL is the lifetime of the tokens a Signer makes.
const DefaultTTL = 60 * time.Second

// Signer makes peer tokens for this host.
type Signer struct {
	// Secret signs (the first PEER_SECRET).
	Secret []byte
	// HostID is the peer claim (HOST_ID, else the system host name; PR-07).
	HostID string
	// TTL is each token's lifetime (default DefaultTTL).
	TTL time.Duration
	// Now and NewID are replaceable for tests and worked examples.
	Now   func() time.Time
	NewID func() string
}

// NewSigner returns a Signer for secret and hostID; an empty hostID means
// the system host name (PR-07).
func NewSigner(secret []byte, hostID string) (*Signer, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("peer: secret shorter than %d bytes", MinSecretBytes)
	}
	if hostID == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return nil, errors.New("peer: HOST_ID is unset and the system host name is unknown")
		}
		hostID = h
	}
	if err := validPeerID(hostID); err != nil {
		return nil, fmt.Errorf("peer: host id: %w", err)
	}
	return &Signer{Secret: secret, HostID: hostID}, nil
}

// NewTokenID returns 128 random bits, unpadded base64url (22 characters).
func NewTokenID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return b64.EncodeToString(b[:])
}

func (s *Signer) claims() Claims {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	newID := NewTokenID
	if s.NewID != nil {
		newID = s.NewID
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	iat := now().Unix()
	return Claims{Peer: s.HostID, IssuedAt: iat, Expires: iat + int64(ttl/time.Second), ID: newID()}
}

// Token returns a fresh token that binds no request (HORAO's wire format
// with iat, exp and jti added).
func (s *Signer) Token() (string, error) { return Sign(s.Secret, s.claims()) }

// SignRequest returns a fresh token bound to one request: method (upper
// case), target (path with query, as sent on the wire) and body.
func (s *Signer) SignRequest(method, target string, body []byte) (string, error) {
	c := s.claims()
	c.Method, c.Target, c.BodyHash = method, target, BodyHash(body)
	return Sign(s.Secret, c)
}

// Transport is an http.RoundTripper that adds "Peer: true" and a fresh
// peer token to every request. With SignRequests, each token also binds the
// request's method, target and body (the body is buffered to hash it).
//
// Use it only for requests to cluster peers, with a client that does not
// follow redirects (CheckRedirect returning http.ErrUseLastResponse): a
// token sent to any other host could be replayed to a peer until it
// expires.
type Transport struct {
	Signer       *Signer
	SignRequests bool
	// Base sends the request (default http.DefaultTransport).
	Base http.RoundTripper
}

var _ http.RoundTripper = (*Transport)(nil)

// RoundTrip implements http.RoundTripper. It leaves r unchanged.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	closeBody := func() {
		if r.Body != nil {
			r.Body.Close()
		}
	}
	if t.Signer == nil {
		closeBody()
		return nil, errors.New("peer: Transport without a Signer")
	}
	out := r.Clone(r.Context())
	var tok string
	var err error
	if t.SignRequests {
		var body []byte
		if r.Body != nil && r.Body != http.NoBody {
			body, err = io.ReadAll(r.Body)
			closeBody()
			if err != nil {
				return nil, fmt.Errorf("peer: read body to sign: %w", err)
			}
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			out.ContentLength = int64(len(body))
		}
		method := out.Method
		if method == "" {
			method = http.MethodGet
		}
		tok, err = t.Signer.SignRequest(method, out.URL.RequestURI(), body)
	} else {
		tok, err = t.Signer.Token()
	}
	if err != nil {
		closeBody()
		return nil, err
	}
	out.Header.Set("Peer", "true")
	out.Header.Set("Authorization", "Bearer "+tok)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(out)
}
