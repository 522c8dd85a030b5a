package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// discoveryPath is appended to the issuer URL (without its trailing slash),
// as OpenID Connect Discovery 1.0 §4 says.
const discoveryPath = "/.well-known/openid-configuration"

// discover fetches the issuer's discovery document and returns its jwks_uri.
func (r *RemoteKeySource) discover(ctx context.Context) (string, error) {
	u := strings.TrimSuffix(r.opts.IssuerURL, "/") + discoveryPath
	body, _, err := r.get(ctx, u)
	if err != nil {
		return "", fmt.Errorf("discovery %s: %w", u, err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("discovery %s: decode: %w", u, err)
	}
	// Exact match (OIDC Discovery §4.3): a document announcing another
	// issuer is a misconfiguration or an impersonation attempt.
	if doc.Issuer != r.opts.IssuerURL {
		return "", fmt.Errorf("discovery %s: issuer %q does not match the configured %q", u, doc.Issuer, r.opts.IssuerURL)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("discovery %s: no jwks_uri", u)
	}
	if err := r.checkURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("discovery %s: jwks_uri: %w", u, err)
	}
	return doc.JWKSURI, nil
}

// checkURL accepts absolute https URLs, and http ones only when
// AllowInsecureHTTP is set.
func (r *RemoteKeySource) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q: %w", raw, err)
	}
	if u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if r.opts.AllowInsecureHTTP {
			return nil
		}
		return fmt.Errorf("%q is not https (AUTH_INSECURE_ALLOW_HTTP is off)", raw)
	default:
		return fmt.Errorf("%q: scheme %q not allowed", raw, u.Scheme)
	}
}

var errTooManyRedirects = errors.New("stopped after 5 redirects")
