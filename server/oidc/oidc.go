// Package oidc is the embedded issuer's HTTP door under {PUBLIC_URL}/oidc:
// discovery, JWKS, authorization (code flow with PKCE), token
// (authorization_code, refresh_token, password), UserInfo, revocation
// (RFC 7009) and end session, plus Gatehouse's own login page and the
// Controller's interaction API (/api/v3/user/interaction/…). The logic
// lives in package issuer; this package only speaks HTTP.
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/issuer"
)

// KeySet publishes the issuer's public keys.
type KeySet interface {
	JWKS() []byte
}

// Clients is the client registry the issuer authorizes against.
type Clients interface {
	GetClient(ctx context.Context, clientID string) (gatehouse.Client, error)
}

// Options configure New.
type Options struct {
	Issuer string // {PUBLIC_URL}/oidc
	Keys   KeySet
	// Service is the token service; nil serves discovery and JWKS only.
	Service *issuer.Service
	Clients Clients
	// InteractionURL is where browsers log in; empty: the built-in page at
	// {Issuer}/interaction/{uid}. Otherwise ?interaction=<uid> is appended.
	InteractionURL string
	// SecureCookies marks cookies Secure (https public URL).
	SecureCookies bool
	Logger        *slog.Logger
}

// Handler serves the issuer's routes.
type Handler struct {
	o         Options
	issuer    string
	keys      KeySet
	svc       *issuer.Service
	log       *slog.Logger
	discovery []byte
}

// New builds the handler.
func New(o Options) (*Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	iss := o.Issuer
	doc := map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/jwks",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "groups", "offline_access"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "preferred_username", "email", "groups"},
	}
	if o.Service != nil {
		doc["authorization_endpoint"] = iss + "/auth"
		doc["token_endpoint"] = iss + "/token"
		doc["userinfo_endpoint"] = iss + "/me"
		doc["revocation_endpoint"] = iss + "/revoke"
		doc["end_session_endpoint"] = iss + "/session/end"
		doc["grant_types_supported"] = []string{"authorization_code", "refresh_token", "password"}
		doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_basic", "client_secret_post", "none"}
		doc["revocation_endpoint_auth_methods_supported"] = []string{"client_secret_basic", "client_secret_post", "none"}
		doc["code_challenge_methods_supported"] = []string{"S256"}
		doc["claims_parameter_supported"] = false
		doc["request_parameter_supported"] = false
		doc["request_uri_parameter_supported"] = false
		doc["authorization_response_iss_parameter_supported"] = true
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return &Handler{o: o, issuer: iss, keys: o.Keys, svc: o.Service, log: o.Logger, discovery: b}, nil
}

// Register mounts the handler's routes on mux under prefix ("/oidc"), and
// the interaction API under /api/v3/user/interaction.
func (h *Handler) Register(mux *http.ServeMux, prefix string) {
	mux.HandleFunc("GET "+prefix+"/.well-known/openid-configuration", h.serveDiscovery)
	mux.HandleFunc("GET "+prefix+"/jwks", h.serveJWKS)
	if h.svc == nil {
		return
	}
	mux.HandleFunc(prefix+"/auth", h.serveAuthorize)
	mux.HandleFunc("POST "+prefix+"/token", h.serveToken)
	mux.HandleFunc(prefix+"/me", h.serveUserInfo)
	mux.HandleFunc("POST "+prefix+"/revoke", h.serveRevoke)
	mux.HandleFunc(prefix+"/session/end", h.serveEndSession)
	mux.HandleFunc("GET "+prefix+"/interaction/{uid}", h.serveLoginPage)
	mux.HandleFunc("POST "+prefix+"/interaction/{uid}", h.postLoginPage)
	mux.HandleFunc("GET /api/v3/user/interaction/{uid}", h.apiGetInteraction)
	mux.HandleFunc("POST /api/v3/user/interaction/{uid}/{action}", h.apiPostInteraction)
}

// RegisterExternal mounts the interaction API's answer in external mode
// (IN-04): 501.
func RegisterExternal(mux *http.ServeMux) {
	nope := func(w http.ResponseWriter, _ *http.Request) {
		writeEnvelope(w, http.StatusNotImplemented, "NotImplementedError", "This endpoint is only available in embedded auth mode")
	}
	mux.HandleFunc("GET /api/v3/user/interaction/{uid}", nope)
	mux.HandleFunc("POST /api/v3/user/interaction/{uid}/{action}", nope)
}

func (h *Handler) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	writeRaw(w, "application/json", h.discovery, "public, max-age=300")
}

func (h *Handler) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	// Short: a rotated key must reach verifiers quickly.
	writeRaw(w, "application/jwk-set+json", h.keys.JWKS(), "public, max-age=60")
}

func writeRaw(w http.ResponseWriter, contentType string, body []byte, cache string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", cache)
	_, _ = w.Write(body) // the client may be gone; nothing to do
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeEnvelope writes the Controller's {"name","message"} error envelope.
func writeEnvelope(w http.ResponseWriter, status int, name, message string) {
	writeJSON(w, status, map[string]string{"name": name, "message": message})
}

// oauthError is an RFC 6749 error response.
type oauthError struct {
	status int
	code   string
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
	}
	body := map[string]string{"error": e.code}
	if e.desc != "" {
		body["error_description"] = e.desc
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, e.status, body)
}

var errInternal = errors.New("internal error")
