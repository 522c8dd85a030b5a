package testenv

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// IssuerOption configures NewIssuer.
type IssuerOption func(*issuerConfig)

type issuerConfig struct {
	tls      bool
	path     string
	audience string
	now      func() time.Time
	extra    [][]KeyOption
}

// WithTLS serves over HTTPS (httptest's certificate); use Issuer.HTTPClient.
func WithTLS() IssuerOption { return func(c *issuerConfig) { c.tls = true } }

// WithIssuerPath puts the issuer under a path ("/realms/test"), as Keycloak does.
func WithIssuerPath(p string) IssuerOption { return func(c *issuerConfig) { c.path = p } }

// WithAudience sets the audience Claims puts in aud (default "gatehouse-test").
func WithAudience(aud string) IssuerOption { return func(c *issuerConfig) { c.audience = aud } }

// WithClock sets the clock Claims uses for iat and exp.
func WithClock(now func() time.Time) IssuerOption { return func(c *issuerConfig) { c.now = now } }

// WithEC adds a published P-256 key (kid "ec-1", ES256).
func WithEC() IssuerOption {
	return func(c *issuerConfig) { c.extra = append(c.extra, []KeyOption{KeyEC(nil), KeyID("ec-1")}) }
}

// WithEd25519 adds a published Ed25519 key (kid "ed-1", EdDSA).
func WithEd25519() IssuerOption {
	return func(c *issuerConfig) { c.extra = append(c.extra, []KeyOption{KeyEd25519(), KeyID("ed-1")}) }
}

// WithKey adds a key made with the given options at start.
func WithKey(opts ...KeyOption) IssuerOption {
	return func(c *issuerConfig) { c.extra = append(c.extra, opts) }
}

// Issuer is a test OpenID issuer on 127.0.0.1: it serves discovery and JWKS
// over real HTTP and mints tokens, honest or hostile. Its first key is an
// RSA-2048 key with kid "rsa-1" and alg RS256.
type Issuer struct {
	t   testing.TB
	srv *httptest.Server
	cfg issuerConfig
	url string

	mu            sync.Mutex
	keys          []*Key // in publication order
	down          bool
	jwksRequests  int
	discoveryReqs int
	discoveryIss  *string
	jwksURI       *string
	jwksBody      []byte
	cacheControl  string
	nextKID       int
}

// NewIssuer starts a test issuer, stopped when the test ends.
func NewIssuer(t testing.TB, opts ...IssuerOption) *Issuer {
	t.Helper()
	cfg := issuerConfig{audience: "gatehouse-test", now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	iss := &Issuer{t: t, cfg: cfg}
	iss.srv = httptest.NewUnstartedServer(http.HandlerFunc(iss.serve))
	// httptest already prefers loopback; make it IPv4 127.0.0.1 for certain.
	_ = iss.srv.Listener.Close()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: listen: %v", err)
	}
	iss.srv.Listener = ln
	if cfg.tls {
		iss.srv.StartTLS()
	} else {
		iss.srv.Start()
	}
	t.Cleanup(iss.srv.Close)
	iss.url = iss.srv.URL + strings.TrimSuffix(cfg.path, "/")

	iss.AddKey(KeyRSA(2048), KeyID("rsa-1"))
	for _, k := range cfg.extra {
		iss.AddKey(k...)
	}
	return iss
}

// URL is the issuer identifier (the iss value and the discovery base).
func (i *Issuer) URL() string { return i.url }

// JWKSURL is where the JWKS is served.
func (i *Issuer) JWKSURL() string { return i.url + "/jwks" }

// HTTPClient returns a client that trusts the server (needed WithTLS).
func (i *Issuer) HTTPClient() *http.Client { return i.srv.Client() }

// Audience is the aud Claims uses.
func (i *Issuer) Audience() string { return i.cfg.audience }

// Close stops the server early (it is also stopped when the test ends).
func (i *Issuer) Close() { i.srv.Close() }

// AddKey generates a key, publishes it (unless KeyUnpublished) and returns its kid.
func (i *Issuer) AddKey(opts ...KeyOption) string {
	i.t.Helper()
	var spec keySpec
	for _, o := range opts {
		o(&spec)
	}
	k, err := newKey(spec)
	if err != nil {
		i.t.Fatalf("testenv: %v", err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if k.KID == "" {
		i.nextKID++
		k.KID = fmt.Sprintf("key-%d", i.nextKID)
	}
	for _, old := range i.keys {
		if old.KID == k.KID {
			i.t.Fatalf("testenv: duplicate kid %q", k.KID)
		}
	}
	i.keys = append(i.keys, k)
	return k.KID
}

// Key returns the key with the given kid, or nil.
func (i *Issuer) Key(kid string) *Key {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.keyLocked(kid)
}

func (i *Issuer) keyLocked(kid string) *Key {
	for _, k := range i.keys {
		if k.KID == kid {
			return k
		}
	}
	return nil
}

// RemoveKey stops publishing kid. The key can still sign (Mint with WithKID),
// as an old or stolen key would.
func (i *Issuer) RemoveKey(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if k := i.keyLocked(kid); k != nil {
		k.spec.unpublished = true
	}
}

// SetDown makes every endpoint answer 503 (the issuer is down) or recover.
func (i *Issuer) SetDown(down bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.down = down
}

// SetDiscoveryIssuer makes discovery announce another issuer value.
func (i *Issuer) SetDiscoveryIssuer(iss string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.discoveryIss = &iss
}

// SetJWKSURI makes discovery announce another jwks_uri.
func (i *Issuer) SetJWKSURI(uri string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.jwksURI = &uri
}

// SetJWKSBody serves body verbatim as the JWKS; nil goes back to the keys.
func (i *Issuer) SetJWKSBody(body []byte) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.jwksBody = body
}

// SetCacheControl sets the Cache-Control header of JWKS responses.
func (i *Issuer) SetCacheControl(v string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.cacheControl = v
}

// JWKSRequests counts the JWKS requests served so far (503s included).
func (i *Issuer) JWKSRequests() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.jwksRequests
}

// DiscoveryRequests counts the discovery requests served so far.
func (i *Issuer) DiscoveryRequests() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.discoveryReqs
}

// JWKS returns the JWKS document as currently published.
func (i *Issuer) JWKS() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	b, err := i.jwksLocked()
	if err != nil {
		i.t.Fatalf("testenv: %v", err)
	}
	return b
}

func (i *Issuer) jwksLocked() ([]byte, error) {
	if i.jwksBody != nil {
		return i.jwksBody, nil
	}
	keys := []json.RawMessage{}
	for _, k := range i.keys {
		if k.spec.unpublished {
			continue
		}
		j, err := k.jwk()
		if err != nil {
			return nil, err
		}
		keys = append(keys, j)
	}
	return json.Marshal(map[string]any{"keys": keys})
}

func (i *Issuer) serve(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	defer i.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(i.cfg.path, "/"))
	switch path {
	case "/.well-known/openid-configuration":
		i.discoveryReqs++
		if i.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		iss, uri := i.url, i.JWKSURL()
		if i.discoveryIss != nil {
			iss = *i.discoveryIss
		}
		if i.jwksURI != nil {
			uri = *i.jwksURI
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss,
			"jwks_uri":                              uri,
			"authorization_endpoint":                i.url + "/authorize",
			"token_endpoint":                        i.url + "/token",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	case "/jwks":
		i.jwksRequests++
		if i.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, err := i.jwksLocked()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		if i.cacheControl != "" {
			w.Header().Set("Cache-Control", i.cacheControl)
		}
		_, _ = w.Write(body)
	default:
		http.NotFound(w, r)
	}
}
