package gatehouse

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// The registration rules of an OIDC Client, shared by `gatehouse client
// create` and AdminService.CreateClient so that both doors accept the same
// clients. Errors name the offending value but no field: each door names the
// field or flag its caller used.

// CheckRedirectURI enforces what the authorization server will compare a
// redirect (or post-logout redirect) URI against: an absolute URI without
// fragment (RFC 6749 §3.1.2), over https unless allowHTTP
// (AUTH_INSECURE_ALLOW_HTTP, for development only).
func CheckRedirectURI(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URI")
	}
	switch {
	case !u.IsAbs() || u.Host == "":
		return errors.New("must be an absolute URI")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return errors.New("must not have a fragment")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && allowHTTP:
		return nil
	case u.Scheme == "http":
		return errors.New("must use https (set AUTH_INSECURE_ALLOW_HTTP=true for development)")
	}
	return fmt.Errorf("scheme %q is not https", u.Scheme)
}

// NormalizeResponseTypes checks that each value is a set of OAuth response
// type words (code, id_token, token, none; none stands alone) and returns
// the values with their words single-spaced, each once. No value means
// code, the authorization code flow with PKCE.
func NormalizeResponseTypes(types []string) ([]string, error) {
	if len(types) == 0 {
		return []string{"code"}, nil
	}
	out := make([]string, 0, len(types))
	for _, t := range types {
		words := strings.Fields(t)
		if len(words) == 0 {
			return nil, fmt.Errorf("%q: empty response type", t)
		}
		seen := map[string]bool{}
		for _, w := range words {
			switch w {
			case "code", "id_token", "token", "none":
			default:
				return nil, fmt.Errorf("%q: %q is not one of code, id_token, token, none", t, w)
			}
			if seen[w] {
				return nil, fmt.Errorf("%q: %q repeated", t, w)
			}
			seen[w] = true
		}
		if seen["none"] && len(words) > 1 {
			return nil, fmt.Errorf("%q: none stands alone", t)
		}
		if norm := strings.Join(words, " "); !slices.Contains(out, norm) {
			out = append(out, norm)
		}
	}
	return out, nil
}
