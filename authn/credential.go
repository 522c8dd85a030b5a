package authn

import (
	"net/url"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// MaxCredentialBytes bounds the Authorization header (and a ?token= value):
// larger values are refused before any parsing.
const MaxCredentialBytes = 16 << 10

// ParseCredential reads the credential from lower-cased request headers. The
// scheme keyword of "authorization" is matched case-insensitively (Bearer,
// Token, Basic; anything else is SchemeOther) and the value is the rest with
// surrounding spaces trimmed. An absent or blank header is SchemeNone. A
// "peer: true" header marks a claimed cluster peer. A header over
// MaxCredentialBytes is a *gatehouse.AuthError (CREDENTIAL_TOO_LARGE).
func ParseCredential(headers map[string]string) (gatehouse.Credential, error) {
	cred := gatehouse.Credential{Peer: strings.EqualFold(strings.TrimSpace(headers["peer"]), "true")}
	h := headers["authorization"]
	if len(h) > MaxCredentialBytes {
		return cred, gatehouse.Refuse(gatehouse.ReasonCredentialTooLarge,
			"authn: authorization header of %d bytes exceeds %d", len(h), MaxCredentialBytes)
	}
	h = strings.Trim(h, " \t")
	if h == "" {
		return cred, nil
	}
	keyword, value, _ := strings.Cut(h, " ")
	if i := strings.IndexByte(keyword, '\t'); i >= 0 {
		keyword, value = h[:i], h[i+1:]
	}
	cred.Value = strings.Trim(value, " \t")
	switch {
	case strings.EqualFold(keyword, "bearer"):
		cred.Scheme = gatehouse.SchemeBearer
	case strings.EqualFold(keyword, "token"):
		cred.Scheme = gatehouse.SchemeToken
	case strings.EqualFold(keyword, "basic"):
		cred.Scheme = gatehouse.SchemeBasic
	default:
		cred.Scheme = gatehouse.SchemeOther
	}
	return cred, nil
}

// ParseCredentialWithQuery is ParseCredential, falling back to the "token"
// query parameter as a Bearer value when the request is a WebSocket upgrade
// and carries no Authorization header: browsers cannot set headers on a
// WebSocket (RB-19). Other requests never read credentials from the query,
// where they would end up in access logs.
func ParseCredentialWithQuery(headers map[string]string, rawQuery string) (gatehouse.Credential, error) {
	cred, err := ParseCredential(headers)
	if err != nil || cred.Present() || rawQuery == "" {
		return cred, err
	}
	if !strings.EqualFold(headers["upgrade"], "websocket") {
		return cred, nil
	}
	if len(rawQuery) > 4*MaxCredentialBytes {
		return cred, gatehouse.Refuse(gatehouse.ReasonCredentialTooLarge, "authn: query of %d bytes", len(rawQuery))
	}
	// ParseQuery keeps every pair it could parse; a bad pair elsewhere in
	// the query is none of our business.
	q, _ := url.ParseQuery(rawQuery)
	tok := strings.TrimSpace(q.Get("token"))
	if tok == "" {
		return cred, nil
	}
	if len(tok) > MaxCredentialBytes {
		return cred, gatehouse.Refuse(gatehouse.ReasonCredentialTooLarge,
			"authn: token query parameter of %d bytes exceeds %d", len(tok), MaxCredentialBytes)
	}
	cred.Scheme, cred.Value = gatehouse.SchemeBearer, tok
	return cred, nil
}
