package apitoken

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/store"
)

// MinEnvSecretLen is the shortest secret AUTH_TOKENS accepts.
const MinEnvSecretLen = 16

// djangoCodename is AURA's `<action>_<model>` shape, used when the policy
// declares no codenames of its own.
var djangoCodename = regexp.MustCompile(`^(add|change|delete|view|create|destroy|list|update)_[a-z][a-z0-9_]*$`)

// codenameShape is what an error may echo: snake_case words, which a
// random secret (hex, base64) never is.
var codenameShape = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)+$`)

// ParseEnv reads AUTH_TOKENS: one `user:secret:perm1&perm2` line per token;
// blank lines and lines starting with # are ignored. A codename is known
// when it is in known, or — when known is empty — when it has Django's
// `<action>_<model>` shape. Errors name AUTH_TOKENS and the line number,
// never the secret, nor a permission that may be a misplaced one (AT-09,
// AT-10).
func ParseEnv(value string, known []string) ([]store.EnvToken, error) {
	var out []store.EnvToken
	seen := map[[32]byte]int{}
	knownSet := map[string]bool{}
	for _, k := range known {
		knownSet[k] = true
	}
	for i, line := range strings.Split(value, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) != 3 {
			return nil, fmt.Errorf("AUTH_TOKENS line %d: want user:secret:permissions (3 fields separated by ':'), got %d fields", n, len(fields))
		}
		login, sec, perms := strings.TrimSpace(fields[0]), strings.TrimSpace(fields[1]), strings.TrimSpace(fields[2])
		switch {
		case login == "":
			return nil, fmt.Errorf("AUTH_TOKENS line %d: empty user", n)
		case sec == "":
			return nil, fmt.Errorf("AUTH_TOKENS line %d: empty secret", n)
		case len(sec) < MinEnvSecretLen:
			return nil, fmt.Errorf("AUTH_TOKENS line %d: the secret is shorter than %d characters", n, MinEnvSecretLen)
		case strings.ContainsAny(sec, " \t"):
			return nil, fmt.Errorf("AUTH_TOKENS line %d: the secret contains spaces", n)
		}
		d := secret.Digest(sec)
		if prev, dup := seen[d]; dup {
			return nil, fmt.Errorf("AUTH_TOKENS line %d: the same secret as line %d; secrets must be unique", n, prev)
		}
		seen[d] = n
		tok := store.EnvToken{Login: login, Digest: d, Permissions: []string{}}
		if perms != "" {
			for j, p := range strings.Split(perms, "&") {
				p = strings.TrimSpace(p)
				if p == "" || (len(knownSet) > 0 && !knownSet[p]) || (len(knownSet) == 0 && !djangoCodename.MatchString(p)) {
					if p != "" && (len(p) > 100 || !codenameShape.MatchString(p)) {
						// Not even shaped like a codename: perhaps a secret
						// in the wrong field, so it is not echoed.
						return nil, fmt.Errorf("AUTH_TOKENS line %d: permission %d is not a codename (value not shown)", n, j+1)
					}
					return nil, fmt.Errorf("AUTH_TOKENS line %d: unknown permission codename %q", n, p)
				}
				tok.Permissions = append(tok.Permissions, p)
			}
		}
		out = append(out, tok)
	}
	return out, nil
}
