package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/login"
	"github.com/gatehouse-authz/gatehouse/server/oauth"
)

// broker is a stand-in IdP: it remembers the nonce and verifier of the
// authorization request and returns an ID token naming nonceOut.
type broker struct {
	nonce, verifier string
	nonceOut        string
	refresh         string
}

func (b *broker) AuthCodeURL(redirectURL, state, nonce, verifier string, scopes []string) (string, error) {
	b.nonce, b.verifier = nonce, verifier
	q := url.Values{"state": {state}, "redirect_uri": {redirectURL}, "scope": {strings.Join(scopes, " ")}}
	return "https://idp.test/auth?" + q.Encode(), nil
}

func (b *broker) Exchange(_ context.Context, _, code, verifier string) (login.Tokens, error) {
	if code != "good" || verifier != b.verifier {
		return login.Tokens{}, login.ErrInvalidCredentials
	}
	n := b.nonceOut
	if n == "" {
		n = b.nonce
	}
	return login.Tokens{AccessToken: "at", RefreshToken: b.refresh, IDToken: "id:" + n}, nil
}

type idVerifier struct{}

func (idVerifier) Verify(_ context.Context, tok string) (*gatehouse.Identity, error) {
	n, ok := strings.CutPrefix(tok, "id:")
	if !ok {
		return nil, errors.New("bad id token")
	}
	return &gatehouse.Identity{Claims: map[string]any{"nonce": n}}, nil
}

func newBFF(t *testing.T, b *broker, mod func(*oauth.Options)) http.Handler {
	t.Helper()
	opts := oauth.Options{
		Broker: b, IDTokens: idVerifier{}, Sessions: oauth.NewMemorySessions(),
		PublicURL: "https://gh.example", ConsoleURL: "https://console.example",
		Scopes: []string{"openid", "profile"}, Secret: []byte("0123456789abcdef0123"), TTL: time.Minute,
	}
	if mod != nil {
		mod(&opts)
	}
	h, err := oauth.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	return mux
}

func do(h http.Handler, target string, cookies []*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func authorize(t *testing.T, h http.Handler) (state string, cookies []*http.Cookie, w *httptest.ResponseRecorder) {
	t.Helper()
	w = do(h, oauth.AuthorizePath, nil)
	if w.Code != http.StatusFound {
		t.Fatalf("authorize: %d %s", w.Code, w.Body)
	}
	loc, _ := url.Parse(w.Header().Get("Location"))
	return loc.Query().Get("state"), w.Result().Cookies(), w
}

// TestBF07NonceMismatch: an ID token whose nonce is not the session's → 401.
func TestBF07NonceMismatch(t *testing.T) {
	b := &broker{nonceOut: "someone-elses-nonce"}
	h := newBFF(t, b, nil)
	state, cookies, _ := authorize(t, h)
	w := do(h, oauth.CallbackPath+"?code=good&state="+url.QueryEscape(state), cookies)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("nonce mismatch: %d %s", w.Code, w.Body)
	}
}

// TestBF09SecureCookie: the cookie is Secure unless insecure HTTP is
// allowed.
func TestBF09SecureCookie(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		h := newBFF(t, &broker{}, func(o *oauth.Options) { o.InsecureCookie = insecure })
		_, cookies, _ := authorize(t, h)
		if len(cookies) != 1 || cookies[0].Secure == insecure || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode || cookies[0].MaxAge != 60 {
			t.Fatalf("insecure=%v: cookie %+v", insecure, cookies)
		}
	}
}

// TestBF03RefreshTokenOmitted: no refresh token from the IdP → the fragment
// has only accessToken.
func TestBF03RefreshTokenOmitted(t *testing.T) {
	h := newBFF(t, &broker{}, nil)
	state, cookies, _ := authorize(t, h)
	w := do(h, oauth.CallbackPath+"?code=good&state="+url.QueryEscape(state), cookies)
	if w.Code != http.StatusFound || w.Header().Get("Location") != "https://console.example/login#accessToken=at" {
		t.Fatalf("callback: %d %q", w.Code, w.Header().Get("Location"))
	}
}

// TestBF13NoConsoleURL: without a console URL the callback answers JSON.
func TestBF13NoConsoleURL(t *testing.T) {
	h := newBFF(t, &broker{refresh: "rt"}, func(o *oauth.Options) { o.ConsoleURL = "" })
	state, cookies, _ := authorize(t, h)
	w := do(h, oauth.CallbackPath+"?code=good&state="+url.QueryEscape(state), cookies)
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"accessToken":"at","refreshToken":"rt"}` {
		t.Fatalf("callback: %d %s", w.Code, w.Body)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", w.Header())
	}
}

// TestBF08Hints: the troubleshooting lines of the Controller's guide.
func TestBF08Hints(t *testing.T) {
	for _, tc := range []struct{ code, desc, want string }{
		{"invalid_scope", "", "group vs groups"},
		{"invalid_request", "Missing parameter: code_challenge_method", "PKCE"},
		{"invalid_request", "redirect_uri did not match any of the client's registered redirect_uris", "/api/v3/user/oauth/callback"},
		{"access_denied", "", "refused"},
		{"server_error", "", ""},
	} {
		if got := oauth.Hint(tc.code, tc.desc); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("Hint(%q, %q) = %q, want it to mention %q", tc.code, tc.desc, got, tc.want)
		}
	}
}
