package jwt

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// identity checks the registered claims of a token whose signature is valid
// and builds the identity.
func (v *Verifier) identity(iss *issuer, claims map[string]any) (*gatehouse.Identity, error) {
	now := v.now()
	exp, ok := numericDate(claims["exp"])
	if !ok {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenNoExpiry, "jwt: exp missing or not a number (iss %q)", iss.url)
	}
	if now.After(exp.Add(v.leeway)) {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenExpired, "jwt: expired at %s (iss %q)", exp.UTC().Format(time.RFC3339), iss.url)
	}
	if raw, present := claims["nbf"]; present {
		nbf, ok := numericDate(raw)
		if !ok {
			return nil, gatehouse.Refuse(gatehouse.ReasonTokenMalformed, "jwt: nbf is not a number (iss %q)", iss.url)
		}
		if nbf.After(now.Add(v.leeway)) {
			return nil, gatehouse.Refuse(gatehouse.ReasonTokenNotYetValid, "jwt: not valid before %s (iss %q)", nbf.UTC().Format(time.RFC3339), iss.url)
		}
	}
	if !audienceMatches(claims["aud"], iss.auds) {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenAudience, "jwt: aud does not hold any of %q (iss %q)", iss.auds, iss.url)
	}
	// A refresh token is no access token, even when it is a JWT signed by the
	// same key with the same audience (Controller's token_use; Keycloak's
	// typ "Refresh").
	if use, _ := claims["token_use"].(string); use == "refresh" || use == "id" {
		// "id": the embedded issuer's ID tokens, whose aud may equal
		// OIDC_CLIENT_ID (the built-in client), are no access tokens either.
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenUse, "jwt: token_use %s (iss %q)", use, iss.url)
	}
	if typ, _ := claims["typ"].(string); strings.EqualFold(typ, "refresh") {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenUse, "jwt: typ Refresh (iss %q)", iss.url)
	}
	sub, ok := claims["sub"].(string)
	if _, present := claims["sub"]; present && !ok {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenMalformed, "jwt: sub is not a string (iss %q)", iss.url)
	}
	return &gatehouse.Identity{
		Kind:      gatehouse.KindUser,
		Subject:   sub,
		Issuer:    iss.url,
		Claims:    claims,
		ExpiresAt: exp,
	}, nil
}

// numericDate reads a JSON number of seconds since the epoch, clamped to a
// range time.Time holds (year ±292 billion would overflow Unix nanoseconds).
func numericDate(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	const limit = 1 << 40 // seconds, about 34,000 years
	f = max(min(f, limit), -limit)
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// audienceMatches reports whether aud (a string or an array of strings)
// holds one of want.
func audienceMatches(aud any, want []string) bool {
	switch a := aud.(type) {
	case string:
		return slices.Contains(want, a)
	case []any:
		for _, e := range a {
			if s, ok := e.(string); ok && slices.Contains(want, s) {
				return true
			}
		}
	}
	return false
}
