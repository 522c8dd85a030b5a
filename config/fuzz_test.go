package config

import (
	"strings"
	"testing"
)

// FuzzLoad: configuration values are outside input. Any value of any
// variable, on top of a valid embedded configuration, loads or fails with an
// error — never a panic — and an error never echoes a secret's value.
func FuzzLoad(f *testing.F) {
	for i, v := range []string{"", "0", "-1s", "10s", "true", "nonsense", "postgres://u:p@h/db", "a:b:c&d", "http://x", "99999999999999999999", "1e309", "\x00", "🙂"} {
		f.Add(uint8(i), v)
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := Vars[int(which)%len(Vars)].Name
		env := map[string]string{
			"AUTH_MODE":                "embedded",
			"CONTROLLER_PUBLIC_URL":    "http://localhost:8080",
			"AUTH_INSECURE_ALLOW_HTTP": "true",
			"DATA_DIR":                 t.TempDir(),
		}
		env[name] = value
		_, err := Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err == nil {
			return
		}
		for _, v := range Vars {
			if v.Secret && v.Name == name && len(value) >= 8 && strings.Contains(err.Error(), value) {
				t.Fatalf("error echoes the secret %s: %v", name, err)
			}
		}
	})
}
