package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// yamlFiles lists every YAML file shipped under deploy/.
func yamlFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEnvoyConfigs(t *testing.T) {
	n := 0
	for _, p := range yamlFiles(t) {
		data := read(t, p)
		if !isEnvoyBootstrap(data) {
			continue
		}
		n++
		t.Run(p, func(t *testing.T) {
			b, err := loadEnvoy(data)
			if err != nil {
				t.Fatal(err)
			}
			filters := extAuthzFilters(b)
			if len(filters) == 0 {
				t.Fatal("no ext_authz filter")
			}
			for _, ea := range filters {
				if ea.GetFailureModeAllow() {
					t.Error("failure_mode_allow must be false")
				}
				if ea.GetTransportApiVersion().String() != "V3" {
					t.Errorf("transport_api_version %v, want V3", ea.GetTransportApiVersion())
				}
				timeout := ea.GetGrpcService().GetTimeout()
				if timeout == nil {
					timeout = ea.GetHttpService().GetServerUri().GetTimeout()
				}
				if timeout == nil || timeout.AsDuration() <= 0 {
					t.Errorf("ext_authz without a positive timeout")
				}
				if ea.GetWithRequestBody() == nil {
					t.Error("ext_authz without with_request_body: peer signatures cover the body")
				}
			}
			checked, missing := healthRoutesSkipAuthz(b)
			if checked == 0 {
				t.Error("no /healthz route with ext_authz disabled")
			}
			if len(missing) > 0 {
				t.Errorf("health routes still behind ext_authz: %v", missing)
			}
		})
	}
	if n == 0 {
		t.Fatal("no Envoy bootstrap found under deploy/")
	}
}

// TestBrokenCopiesFail mutates one copy of each kind of shipped file and
// checks its loader refuses it: a validator that accepts everything would
// pass every other test here.
func TestBrokenCopiesFail(t *testing.T) {
	var cases []mutation
	for _, kind := range [][]mutation{envoyMutations(), dockerMutations(), proxyMutations(), kubeMutations(), istioMutations(t)} {
		cases = append(cases, kind...)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			orig := read(t, c.file)
			if err := c.load(orig); err != nil {
				t.Fatalf("the shipped %s does not load: %v", c.file, err)
			}
			if !strings.Contains(string(orig), c.from) {
				t.Fatalf("%s no longer contains %q; update the case", c.file, c.from)
			}
			broken := strings.Replace(string(orig), c.from, c.to, 1)
			if err := c.load([]byte(broken)); err == nil {
				t.Fatalf("a copy of %s with %q → %q loads without error", c.file, c.from, c.to)
			} else {
				t.Logf("refused as expected: %v", err)
			}
		})
	}
}

// mutation is a broken copy of a shipped file: the first from replaced by to.
type mutation struct {
	name, file, from, to string
	load                 func([]byte) error
}

func envoyMutations() []mutation {
	return []mutation{
		{"envoy: misspelt field", "envoy/envoy.yaml", "grpc_service:", "grpc_servce:", envoyLoader},
		{"envoy: unknown typed_config", "envoy/envoy.yaml", "filters.http.router.v3.Router", "filters.http.router.v3.Routr", envoyLoader},
		{"envoy: bool as string", "envoy/envoy.yaml", "  failure_mode_allow: false", `  failure_mode_allow: "no"`, envoyLoader},
		{"envoy: fail open", "envoy/envoy.yaml", "  failure_mode_allow: false", "  failure_mode_allow: true", envoyLoader},
		{"envoy: empty cluster inside Any", "envoy/envoy.yaml", "envoy_grpc: {cluster_name: gatehouse}", `envoy_grpc: {cluster_name: ""}`, envoyLoader},
		{"envoy: dangling cluster", "envoy/envoy.yaml", "envoy_grpc: {cluster_name: gatehouse}", "envoy_grpc: {cluster_name: nosuchcluster}", envoyLoader},
		{"envoy: negative timeout", "envoy/envoy.yaml", "timeout: 0.25s", "timeout: -1s", envoyLoader},
		{"envoy: port out of range", "envoy/envoy.yaml", "port_value: 10000", "port_value: 70000", envoyLoader},
		{"envoy http: misspelt field", "envoy/envoy-http.yaml", "path_prefix:", "path_prefx:", envoyLoader},
		{"envoy http: dangling cluster", "envoy/envoy-http.yaml", "cluster: gatehouse_http", "cluster: gatehouse", envoyLoader},
	}
}

func envoyLoader(b []byte) error { _, err := loadEnvoy(b); return err }

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

// TestEveryFileIsChecked fails when a file is added under deploy/ that no
// test loads, so nothing ships unvalidated.
func TestEveryFileIsChecked(t *testing.T) {
	checked := func(p string) bool {
		switch {
		case strings.HasSuffix(p, ".go"):
			return true
		case strings.HasPrefix(p, "kubernetes/"), strings.HasPrefix(p, "istio/"):
			return strings.HasSuffix(p, ".yaml")
		}
		switch p {
		case "docker/Dockerfile", "docker/Dockerfile.dockerignore", "compose/compose.yaml",
			"traefik/dynamic.yaml", "nginx/nginx.conf", "caddy/Caddyfile":
			return true
		}
		return strings.HasSuffix(p, ".yaml") && isEnvoyBootstrap(read(t, p))
	}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !checked(filepath.ToSlash(p)) {
			t.Errorf("%s is shipped but no test checks it", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
