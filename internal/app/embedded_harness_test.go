package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	"github.com/gatehouse-authz/gatehouse/issuer"
)

// Test passwords that pass the policy.
const (
	adminPass = "Bootstrap-Admin-Pass1"
	userPass  = "Correct-Horse-Battery9"
)

// eg is Gatehouse in embedded mode behind a loopback proxy whose URL is the
// public URL, so the issuer URL is known before Gatehouse binds port 0.
type eg struct {
	*gh
	pub    string // public URL (the proxy)
	issuer string // pub + "/oidc"
}

// publicProxy starts a reverse proxy on 127.0.0.1:0 that forwards to
// whatever target is set later.
func publicProxy(t testing.TB) (*httptest.Server, *atomic.Pointer[url.URL]) {
	var target atomic.Pointer[url.URL]
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target.Load())
		pr.Out.Host = pr.In.Host
	}}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv, &target
}

// startEmbedded runs Gatehouse as its own issuer with the bootstrap admin
// "admin" and env overrides kv.
func startEmbedded(t testing.TB, kv ...string) *eg {
	t.Helper()
	proxy, target := publicProxy(t)
	env := map[string]string{
		"AUTH_MODE":                     "embedded",
		"CONTROLLER_PUBLIC_URL":         proxy.URL,
		"AUTH_INSECURE_ALLOW_HTTP":      "true",
		"DATA_DIR":                      t.TempDir(),
		"OIDC_BOOTSTRAP_ADMIN_USERNAME": "admin",
		"OIDC_BOOTSTRAP_ADMIN_PASSWORD": adminPass,
		// The machine is shared: no decision may fail on a busy CPU.
		"POLICY_EVAL_TIMEOUT": "5s",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	g := start(t, env, true)
	u, _ := url.Parse(g.base)
	target.Store(u)
	return &eg{gh: g, pub: proxy.URL, issuer: proxy.URL + "/oidc"}
}

// user creates a local user with password pw in groups.
func (e *eg) user(login, pw string, groups ...string) gatehouse.User {
	e.t.Helper()
	ctx := context.Background()
	hash, err := password.Hash(pw, password.DefaultParams())
	if err != nil {
		e.t.Fatal(err)
	}
	st := e.app.Store()
	u, err := st.CreateUser(ctx, gatehouse.User{Login: login, PasswordHash: hash})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, g := range groups {
		if _, err := st.CreateGroup(ctx, g); err != nil && !strings.Contains(err.Error(), "exists") {
			e.t.Fatal(err)
		}
		if err := st.AddMember(ctx, g, u.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	return u
}

// enrollTOTP turns MFA on for a user and returns the TOTP secret.
func (e *eg) enrollTOTP(userID string) string {
	e.t.Helper()
	acc := e.app.Issuer().Accounts
	sec, err := acc.StartEnrollment(context.Background(), userID)
	if err != nil {
		e.t.Fatal(err)
	}
	// Use the previous step to confirm, so the current one stays usable.
	code, _ := issuer.TOTPCode(sec, issuer.TOTPStep(time.Now())-1)
	if _, err := acc.ConfirmEnrollment(context.Background(), userID, code); err != nil {
		e.t.Fatal(err)
	}
	return sec
}

// client registers an OIDC client; secret "" makes it public.
func (e *eg) client(id, secret string, redirects, postLogout []string) {
	e.t.Helper()
	c := gatehouse.Client{ClientID: id, Name: id, Public: secret == "", ResponseTypes: []string{"code"}, RedirectURIs: redirects, PostLogoutRedirectURIs: postLogout}
	if secret != "" {
		h, err := password.Hash(secret, password.DefaultParams())
		if err != nil {
			e.t.Fatal(err)
		}
		c.SecretHash = h
	}
	if _, err := e.app.Store().CreateClient(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
}

// browser is a cookie-keeping HTTP client that stops at redirects to
// stopAt (the client's redirect URI).
func cookieBrowser(t *testing.T, stopAt string) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if stopAt != "" && strings.HasPrefix(req.URL.String(), stopAt) {
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return fmt.Errorf("too many redirects")
		}
		return nil
	}}
}

var (
	issuerFormAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	csrfField        = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	secretSpan       = regexp.MustCompile(`id="secret">([A-Z2-7]+)<`)
)

// submit posts the page's form with fields (csrf added) and returns the
// response.
func submit(t *testing.T, c *http.Client, base, page string, fields url.Values) *http.Response {
	t.Helper()
	act := issuerFormAction.FindStringSubmatch(page)
	csrf := csrfField.FindStringSubmatch(page)
	if act == nil || csrf == nil {
		t.Fatalf("no form on the page:\n%s", page)
	}
	fields.Set("csrf", html.UnescapeString(csrf[1]))
	resp, err := c.PostForm(base+html.UnescapeString(act[1]), fields)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pkce returns a verifier and its S256 challenge.
func pkce() (string, string) {
	v := strings.Repeat("v", 10) + fmt.Sprint(time.Now().UnixNano()) + "-verifier-0123456789abcdefghijklmnop"
	sum := sha256.Sum256([]byte(v))
	return v, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeAndLogin runs the code flow's front channel through the
// built-in login page with username/password (and a TOTP secret when the
// user has MFA) and returns the final redirect's query.
func (e *eg) authorizeAndLogin(t *testing.T, params url.Values, username, pw, totpSecret string) url.Values {
	t.Helper()
	redirect := params.Get("redirect_uri")
	c := cookieBrowser(t, redirect)
	resp, err := c.Get(e.issuer + "/auth?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page := readBody(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("authorize: %d %s", resp.StatusCode, page)
	}
	resp = submit(t, c, e.pub, page, url.Values{"username": {username}, "password": {pw}})
	if totpSecret != "" {
		page = readBody(t, resp)
		code, _ := issuer.TOTPCode(totpSecret, issuer.TOTPStep(time.Now()))
		resp = submit(t, c, e.pub, page, url.Values{"code": {code}})
	}
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d %s", resp.StatusCode, readBody(t, resp))
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect) {
		t.Fatalf("redirect to %q", resp.Header.Get("Location"))
	}
	return loc.Query()
}

// token posts a token request; basic sets client_secret_basic.
func (e *eg) token(t *testing.T, form url.Values, basicID, basicSecret string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(readBody(t, resp)), &body)
	return resp.StatusCode, body
}

// jwtClaims decodes a JWT's payload without verifying it.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func jwtHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	_ = json.Unmarshal(b, &h)
	return h
}
