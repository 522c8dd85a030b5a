package apitoken

import (
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/secret"
)

const s1, s2 = "0123456789abcdef-one", "0123456789abcdef-two"

func TestAT08ParseEnv(t *testing.T) {
	got, err := ParseEnv("\n# inter-service tokens\nmedia_store:"+s1+":update_mediasource&add_mediasource&change_mediasource\n\n  engine:"+s2+":  \n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Login != "media_store" || got[0].Digest != secret.Digest(s1) ||
		strings.Join(got[0].Permissions, ",") != "update_mediasource,add_mediasource,change_mediasource" ||
		got[1].Login != "engine" || len(got[1].Permissions) != 0 {
		t.Fatalf("%+v", got)
	}
}

func TestAT09AT10ParseEnvErrors(t *testing.T) {
	tests := []struct {
		name, value string
		known       []string
		want        string
	}{
		{"AT09 duplicate secret", "a:" + s1 + ":view_show\nb:" + s1 + ":view_show", nil, "line 2: the same secret as line 1"},
		{"AT10 two fields", "a:" + s1, nil, "line 1: want user:secret:permissions"},
		{"AT10 four fields", "\na:" + s1 + ":view_show:x", nil, "line 2: want"},
		{"AT10 empty user", ":" + s1 + ":view_show", nil, "line 1: empty user"},
		{"AT10 empty secret", "a::view_show", nil, "line 1: empty secret"},
		{"short secret", "a:short:view_show", nil, "shorter than"},
		{"AT10 codename of the wrong shape", "a:" + s1 + ":fly_away", nil, `unknown permission codename "fly_away"`},
		{"AT10 codename not in the catalog", "a:" + s1 + ":view_show", []string{"view_episode"}, `"view_show"`},
		{"AT10 empty codename", "a:" + s1 + ":view_show&&add_show", nil, `""`},
		{"AT09 a secret in the permissions field is not echoed", "a:view_microservices:" + s1, nil, "permission 1 is not a codename (value not shown)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEnv(tt.value, tt.known)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "AUTH_TOKENS") {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), s1) {
				t.Fatal("the error echoes the secret")
			}
		})
	}
}
