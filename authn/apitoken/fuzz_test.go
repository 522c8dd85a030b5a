package apitoken

import (
	"slices"
	"strings"
	"testing"
)

// Secret markers: at least MinEnvSecretLen long, so a line may be valid.
const fuzzSecret1, fuzzSecret2, fuzzSecret3 = "Mk1SECRETaaaaaaaa", "Mk2SECRETbbbbbbbb", "Mk3SECRETcccccccc"

// FuzzParseEnv feeds AUTH_TOKENS values. raw is parsed as it is: no panic,
// errors name AUTH_TOKENS and a line, accepted tokens are well formed. Two
// more lines are built around secret markers (user:marker+suffix:perms, the
// user and permissions without ':' or newlines, the suffix free), and one
// with the marker in the permissions field: no error may echo a marker
// (AT-09, AT-10). Seeds: testdata/fuzz/FuzzParseEnv.
func FuzzParseEnv(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw, user1, suffix1, perms1, user2, suffix2, perms2 string, useKnown bool) {
		var known []string
		if useKnown {
			known = []string{"view_x", "can_do", "x y"}
		}
		check := func(value string, markers ...string) {
			toks, err := ParseEnv(value, known)
			if err != nil {
				msg := err.Error()
				if !strings.HasPrefix(msg, "AUTH_TOKENS line ") || strings.Contains(msg, "\n") {
					t.Fatalf("error %q does not name AUTH_TOKENS and a line", msg)
				}
				for _, m := range markers {
					if strings.Contains(msg, m) {
						t.Fatalf("error echoes the secret: %q", msg)
					}
				}
				return
			}
			seen := map[[32]byte]bool{}
			for _, tok := range toks {
				if tok.Login == "" || tok.Login != strings.TrimSpace(tok.Login) || strings.ContainsAny(tok.Login, ":\n") {
					t.Fatalf("login %q", tok.Login)
				}
				if seen[tok.Digest] {
					t.Fatalf("two tokens with one secret in %q", value)
				}
				seen[tok.Digest] = true
				if tok.Permissions == nil {
					t.Fatal("nil permissions")
				}
				for _, p := range tok.Permissions {
					if (known == nil && !djangoCodename.MatchString(p)) || (known != nil && !slices.Contains(known, p)) || p == "" {
						t.Fatalf("permission %q accepted", p)
					}
				}
			}
		}
		check(raw)

		clean := strings.NewReplacer(":", "", "\n", "").Replace
		parts := []string{user1, perms1, user2, perms2}
		for i, p := range parts {
			parts[i] = clean(p)
			if strings.Contains(parts[i], "SECRET") {
				return
			}
		}
		value := parts[0] + ":" + fuzzSecret1 + suffix1 + ":" + parts[1] + "\n" + parts[2] + ":" + fuzzSecret2 + suffix2 + ":" + parts[3]
		check(value, fuzzSecret1, fuzzSecret2)
		// A secret written where the permissions go is not echoed either.
		check(parts[2]+":view_microservices:"+fuzzSecret3+clean(suffix2), fuzzSecret3)
	})
}
