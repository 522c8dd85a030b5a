// Package oidc is the embedded issuer's HTTP door under {PUBLIC_URL}/oidc.
// This version publishes discovery and the JWKS so relying parties and other
// Gatehouse replicas can verify the tokens Gatehouse mints; the login
// endpoints arrive with the full embedded issuer.
package oidc

import (
	"encoding/json"
	"net/http"
)

// KeySet publishes the issuer's public keys.
type KeySet interface {
	JWKS() []byte
}

// Handler serves /oidc/.well-known/openid-configuration and /oidc/jwks.
type Handler struct {
	issuer    string
	keys      KeySet
	discovery []byte
}

// New builds the handler for issuer (e.g. "https://gh.example.com/oidc").
func New(issuer string, keys KeySet) (*Handler, error) {
	doc := map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              issuer + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "groups"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "preferred_username", "email", "groups"},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return &Handler{issuer: issuer, keys: keys, discovery: b}, nil
}

// Register mounts the handler's routes on mux under prefix ("/oidc").
func (h *Handler) Register(mux *http.ServeMux, prefix string) {
	mux.HandleFunc("GET "+prefix+"/.well-known/openid-configuration", h.serveDiscovery)
	mux.HandleFunc("GET "+prefix+"/jwks", h.serveJWKS)
}

func (h *Handler) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, "application/json", h.discovery)
}

func (h *Handler) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, "application/jwk-set+json", h.keys.JWKS())
}

func writeJSON(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	// Short enough that a rotated key reaches verifiers quickly.
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(body) // the client may be gone; nothing to do
}
