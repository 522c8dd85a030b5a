// Package oauth is the browser's OAuth BFF (backend for frontend), plain
// net/http beside the gateway: GET /api/v3/user/oauth/authorize sends the
// browser to the IdP (code flow, PKCE S256, state, nonce) and
// GET /api/v3/user/oauth/callback redeems the code once and hands the tokens
// to the console in the URL fragment ({CONSOLE_URL}/login#accessToken=…).
// Redirect targets come from configuration only, never from the request.
package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/login"
)

// Paths of the BFF.
const (
	AuthorizePath = "/api/v3/user/oauth/authorize"
	CallbackPath  = "/api/v3/user/oauth/callback"
	// CookieName is the BFF session cookie.
	CookieName = "gatehouse.oauth"
)

// Broker is the IdP side of the flow (login/external.Provider).
type Broker interface {
	AuthCodeURL(redirectURL, state, nonce, verifier string, scopes []string) (string, error)
	Exchange(ctx context.Context, redirectURL, code, verifier string) (login.Tokens, error)
}

// Verifier verifies ID tokens (signature, iss, aud = client id, exp).
type Verifier interface {
	Verify(ctx context.Context, token string) (*gatehouse.Identity, error)
}

// Sessions hold BFF sessions: memory (NewMemorySessions) or the store
// (store.AuthState) so any replica may take the callback.
type Sessions interface {
	PutSession(ctx context.Context, id string, data []byte, expires time.Time) error
	TakeSession(ctx context.Context, id string) ([]byte, time.Time, error)
	DeleteSession(ctx context.Context, id string) error
}

// Options configure the BFF.
type Options struct {
	Broker   Broker
	IDTokens Verifier
	Sessions Sessions
	// PublicURL is where the IdP sends the browser back
	// ({PublicURL}/api/v3/user/oauth/callback); empty: authorize answers 501.
	PublicURL string
	// ConsoleURL receives the tokens ({ConsoleURL}/login#…); empty: the
	// callback answers JSON.
	ConsoleURL string
	Scopes     []string
	// Secret signs the session cookie.
	Secret []byte
	TTL    time.Duration
	// InsecureCookie drops the cookie's Secure flag (AUTH_INSECURE_ALLOW_HTTP).
	InsecureCookie bool
	Logger         *slog.Logger
	Now            func() time.Time
}

// Handler serves the two BFF routes.
type Handler struct{ opts Options }

// New checks opts.
func New(opts Options) (*Handler, error) {
	switch {
	case opts.Broker == nil || opts.IDTokens == nil || opts.Sessions == nil:
		return nil, errors.New("oauth: broker, ID-token verifier and sessions are required")
	case len(opts.Secret) < 16:
		return nil, errors.New("oauth: session secret shorter than 16 bytes")
	case opts.TTL <= 0:
		return nil, errors.New("oauth: session TTL must be positive")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handler{opts: opts}, nil
}

// Register mounts the routes.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+AuthorizePath, h.authorize)
	mux.HandleFunc("GET "+CallbackPath, h.callback)
}

type session struct {
	State     string    `json:"state"`
	Nonce     string    `json:"nonce"`
	Verifier  string    `json:"verifier"`
	CreatedAt time.Time `json:"createdAt"`
}

func (h *Handler) redirectURL() string { return h.opts.PublicURL + CallbackPath }

func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	if h.opts.PublicURL == "" {
		writeError(w, http.StatusNotImplemented, "NotImplementedError", "OAuth BFF requires CONTROLLER_PUBLIC_URL or CONSOLE_URL to be configured")
		return
	}
	s := session{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(), CreatedAt: h.opts.Now().UTC()}
	target, err := h.opts.Broker.AuthCodeURL(h.redirectURL(), s.State, s.Nonce, s.Verifier, h.opts.Scopes)
	if err != nil {
		h.opts.Logger.Warn("oauth authorize: identity provider unavailable", "err", err)
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailableError", "Identity provider unavailable")
		return
	}
	id := random()
	data, _ := json.Marshal(s)
	if err := h.opts.Sessions.PutSession(r.Context(), id, data, s.CreatedAt.Add(h.opts.TTL)); err != nil {
		h.opts.Logger.Error("oauth authorize: session store", "err", err)
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailableError", "Session store unavailable")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    id + "." + h.mac(id),
		Path:     "/api/v3/user/oauth",
		MaxAge:   int(h.opts.TTL / time.Second),
		Expires:  s.CreatedAt.Add(h.opts.TTL),
		HttpOnly: true,
		Secure:   !h.opts.InsecureCookie,
		SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	id, ok := h.sessionID(r)
	// The cookie is spent whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/api/v3/user/oauth", MaxAge: -1,
		HttpOnly: true, Secure: !h.opts.InsecureCookie, SameSite: http.SameSiteLaxMode})
	if !ok {
		if q.Get("error") != "" {
			h.idpError(w, r, q)
			return
		}
		writeError(w, http.StatusUnauthorized, "AuthenticationError", "OAuth session expired or missing")
		return
	}
	// Taken (deleted) before anything else: single use, even across replicas.
	data, expires, err := h.opts.Sessions.TakeSession(ctx, id)
	if q.Get("error") != "" {
		h.idpError(w, r, q)
		return
	}
	if errors.Is(err, gatehouse.ErrNotFound) {
		writeError(w, http.StatusUnauthorized, "AuthenticationError", "OAuth session expired or missing")
		return
	}
	if err != nil {
		h.opts.Logger.Error("oauth callback: session store", "err", err)
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailableError", "Session store unavailable")
		return
	}
	var s session
	if err := json.Unmarshal(data, &s); err != nil || s.State == "" || s.Nonce == "" || s.Verifier == "" {
		writeError(w, http.StatusUnauthorized, "AuthenticationError", "OAuth session expired or missing")
		return
	}
	if now := h.opts.Now(); !now.Before(expires) || now.Sub(s.CreatedAt) >= h.opts.TTL {
		writeError(w, http.StatusUnauthorized, "AuthenticationError", "OAuth session expired")
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(s.State)) != 1 {
		h.opts.Logger.Info("oauth callback refused: state mismatch")
		writeError(w, http.StatusUnauthorized, "AuthenticationError", "OAuth callback verification failed")
		return
	}
	tokens, err := h.opts.Broker.Exchange(ctx, h.redirectURL(), q.Get("code"), s.Verifier)
	if err != nil {
		h.opts.Logger.Info("oauth callback refused: code exchange", "err", err)
		if errors.Is(err, login.ErrUnavailable) {
			writeError(w, http.StatusServiceUnavailable, "ServiceUnavailableError", "Identity provider unavailable")
			return
		}
		writeError(w, http.StatusUnauthorized, "AuthenticationError", "OAuth code exchange failed")
		return
	}
	if err := h.checkIDToken(ctx, tokens.IDToken, s.Nonce); err != nil {
		h.opts.Logger.Info("oauth callback refused: id token", "err", err)
		writeError(w, http.StatusUnauthorized, "AuthenticationError", "OAuth callback verification failed")
		return
	}
	if h.opts.ConsoleURL == "" {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		writeJSON(w, http.StatusOK, map[string]string{"accessToken": tokens.AccessToken, "refreshToken": tokens.RefreshToken})
		return
	}
	frag := url.Values{"accessToken": {tokens.AccessToken}}
	if tokens.RefreshToken != "" {
		frag.Set("refreshToken", tokens.RefreshToken)
	}
	h.toConsole(w, r, frag)
}

func (h *Handler) checkIDToken(ctx context.Context, raw, nonce string) error {
	if raw == "" {
		return errors.New("no id_token in the token response")
	}
	id, err := h.opts.IDTokens.Verify(ctx, raw)
	if err != nil {
		return err
	}
	got, _ := id.Claims["nonce"].(string)
	if subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		return errors.New("id_token nonce does not match the session")
	}
	return nil
}

// idpError ends an IdP error at the console with the troubleshooting hint.
func (h *Handler) idpError(w http.ResponseWriter, r *http.Request, q url.Values) {
	code := clip(q.Get("error"), 64)
	desc := clip(q.Get("error_description"), 300)
	h.opts.Logger.Warn("oauth callback: identity provider error", "error", code, "description", desc)
	frag := url.Values{"error": {code}}
	if desc != "" {
		frag.Set("error_description", desc)
	}
	if hint := Hint(code, desc); hint != "" {
		frag.Set("hint", hint)
	}
	if h.opts.ConsoleURL == "" {
		writeError(w, http.StatusUnauthorized, "AuthenticationError", "OAuth sign-in failed: "+code)
		return
	}
	h.toConsole(w, r, frag)
}

func (h *Handler) toConsole(w http.ResponseWriter, r *http.Request, frag url.Values) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, h.opts.ConsoleURL+"/login#"+frag.Encode(), http.StatusFound)
}

// Hint is the troubleshooting line of the Controller's external IdP guide
// for an IdP error.
func Hint(code, desc string) string {
	d := strings.ToLower(desc)
	switch {
	case code == "invalid_scope":
		return "Missing groups or offline_access on the client; wrong scope name (group vs groups)"
	case strings.Contains(d, "code_challenge"), strings.Contains(d, "pkce"):
		return "PKCE required on the IdP but not sent, or PKCE method not S256: set PKCE method S256 on the IdP client"
	case strings.Contains(d, "redirect_uri"):
		return "redirect_uri mismatch: register {CONTROLLER_PUBLIC_URL}/api/v3/user/oauth/callback exactly"
	case code == "unauthorized_client":
		return "Standard flow (authorization code) not enabled for the client, or the client is not confidential"
	case code == "access_denied":
		return "The IdP refused the sign-in (user cancelled or not allowed); check the user's access to the client"
	}
	return ""
}

func (h *Handler) sessionID(r *http.Request) (string, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return "", false
	}
	id, mac, ok := strings.Cut(c.Value, ".")
	if !ok || id == "" || !hmac.Equal([]byte(mac), []byte(h.mac(id))) {
		return "", false
	}
	return id, true
}

func (h *Handler) mac(id string) string {
	m := hmac.New(sha256.New, h.opts.Secret)
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func writeError(w http.ResponseWriter, code int, name, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, code, map[string]string{"name": name, "message": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone
}

// MemorySessions keeps sessions in this process (one replica).
type MemorySessions struct {
	mu sync.Mutex
	m  map[string]memSession
}

type memSession struct {
	data    []byte
	expires time.Time
}

// NewMemorySessions returns an empty in-process session store.
func NewMemorySessions() *MemorySessions { return &MemorySessions{m: map[string]memSession{}} }

// PutSession stores a session and drops ones expired for a while.
func (m *MemorySessions) PutSession(_ context.Context, id string, data []byte, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cutoff := time.Now().Add(-time.Hour)
	for k, s := range m.m {
		if s.expires.Before(cutoff) {
			delete(m.m, k)
		}
	}
	m.m[id] = memSession{data: data, expires: expires}
	return nil
}

// TakeSession returns and deletes a session.
func (m *MemorySessions) TakeSession(_ context.Context, id string) ([]byte, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[id]
	if !ok {
		return nil, time.Time{}, fmt.Errorf("session: %w", gatehouse.ErrNotFound)
	}
	delete(m.m, id)
	return s.data, s.expires, nil
}

// DeleteSession removes a session.
func (m *MemorySessions) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, id)
	return nil
}
