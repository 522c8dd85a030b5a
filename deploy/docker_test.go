package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"sigs.k8s.io/yaml"
)

// dockerInstructions are the instructions a Dockerfile may use; the parser
// accepts any word, so a misspelt instruction is caught here.
var dockerInstructions = []string{"from", "run", "cmd", "label", "maintainer", "expose", "env", "add", "copy",
	"entrypoint", "volume", "user", "workdir", "arg", "onbuild", "stopsignal", "healthcheck", "shell"}

type dockerStage struct {
	name, base string
	lines      []*parser.Node
}

// checkDockerfile parses a Dockerfile with BuildKit's parser and checks the
// image Gatehouse promises: a build stage with CGO off, a distroless
// non-root runtime stage, EXPOSE 9191 8080, and a HEALTHCHECK that runs
// `gatehouse healthcheck`.
func checkDockerfile(data []byte) error {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	var stages []*dockerStage
	for _, n := range res.AST.Children {
		n.Value = strings.ToLower(n.Value)
		if !slices.Contains(dockerInstructions, n.Value) {
			return fmt.Errorf("line %d: unknown instruction %q", n.StartLine, n.Value)
		}
		if n.Value == "from" {
			args := words(n)
			st := &dockerStage{base: args[0]}
			if len(args) == 3 && strings.EqualFold(args[1], "as") {
				st.name = args[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, n)
		}
	}
	if len(stages) < 2 {
		return fmt.Errorf("%d stage(s), want a build stage and a runtime stage", len(stages))
	}
	var errs []error
	build, final := stages[0], stages[len(stages)-1]
	if !stageHas(build, func(n *parser.Node) bool {
		return (n.Value == "env" || n.Value == "run" || n.Value == "arg") && strings.Contains(n.Original, "CGO_ENABLED=0")
	}) {
		errs = append(errs, errors.New("build stage does not set CGO_ENABLED=0"))
	}
	if !stageHas(build, func(n *parser.Node) bool { return n.Value == "run" && strings.Contains(n.Original, "go build") }) {
		errs = append(errs, errors.New("build stage does not run go build"))
	}
	if !strings.HasPrefix(final.base, "gcr.io/distroless/static") {
		errs = append(errs, fmt.Errorf("runtime stage is FROM %s, want gcr.io/distroless/static", final.base))
	}
	if !stageHas(final, func(n *parser.Node) bool {
		return n.Value == "copy" && slices.Contains(n.Flags, "--from="+build.name)
	}) {
		errs = append(errs, fmt.Errorf("runtime stage copies nothing from the build stage %q", build.name))
	}
	var user string
	var exposed []string
	var health, entry []string
	for _, n := range final.lines {
		switch n.Value {
		case "user":
			user = words(n)[0]
		case "expose":
			exposed = append(exposed, words(n)...)
		case "healthcheck":
			health = words(n)
		case "entrypoint":
			entry = words(n)
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "root" || uid == "0" {
		errs = append(errs, fmt.Errorf("runtime USER is %q, want a non-root user", user))
	}
	for _, p := range []string{"9191", "8080"} {
		if !slices.Contains(exposed, p) && !slices.Contains(exposed, p+"/tcp") {
			errs = append(errs, fmt.Errorf("port %s not EXPOSEd (have %v)", p, exposed))
		}
	}
	if len(health) < 3 || !strings.EqualFold(health[0], "CMD") || filepath.Base(health[1]) != "gatehouse" || health[2] != "healthcheck" {
		errs = append(errs, fmt.Errorf("HEALTHCHECK %v, want CMD [.../gatehouse healthcheck]", health))
	}
	if len(entry) == 0 || filepath.Base(entry[0]) != "gatehouse" {
		errs = append(errs, fmt.Errorf("ENTRYPOINT %v, want the gatehouse binary", entry))
	}
	return errors.Join(errs...)
}

func words(n *parser.Node) []string {
	var out []string
	for w := n.Next; w != nil; w = w.Next {
		out = append(out, w.Value)
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

func stageHas(st *dockerStage, pred func(*parser.Node) bool) bool {
	return slices.ContainsFunc(st.lines, pred)
}

func TestDockerfile(t *testing.T) {
	if err := checkDockerfile(read(t, "docker/Dockerfile")); err != nil {
		t.Fatal(err)
	}
}

// composeFile is the part of the Compose specification compose.yaml uses;
// decoding is strict, so a misspelt key fails.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]*struct{}      `json:"volumes"`
}

type composeService struct {
	Image       string                                `json:"image"`
	Build       *struct{ Context, Dockerfile string } `json:"build"`
	Command     []string                              `json:"command"`
	Environment map[string]string                     `json:"environment"`
	Volumes     []string                              `json:"volumes"`
	Ports       []string                              `json:"ports"`
	DependsOn   map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	Healthcheck *struct {
		Test     []string `json:"test"`
		Interval string   `json:"interval"`
		Timeout  string   `json:"timeout"`
		Retries  int      `json:"retries"`
	} `json:"healthcheck"`
}

// checkCompose decodes compose.yaml strictly and checks its wiring: every
// dependency exists, bind-mounted files exist (the Envoy one is a valid
// bootstrap), Gatehouse is built from the shipped Dockerfile, uses
// PostgreSQL and is health-checked with `gatehouse healthcheck`.
func checkCompose(data []byte, dir string) error {
	var c composeFile
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	var errs []error
	for _, want := range []string{"gatehouse", "postgres", "envoy", "controller"} {
		if _, ok := c.Services[want]; !ok {
			errs = append(errs, fmt.Errorf("no service %q", want))
		}
	}
	for name, s := range c.Services {
		if s.Image == "" && s.Build == nil {
			errs = append(errs, fmt.Errorf("service %s: neither image nor build", name))
		}
		for dep, d := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				errs = append(errs, fmt.Errorf("service %s depends on unknown %q", name, dep))
			}
			if d.Condition == "service_healthy" && c.Services[dep].Healthcheck == nil {
				errs = append(errs, fmt.Errorf("service %s waits for %s to be healthy, which has no healthcheck", name, dep))
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				b, err := readFile(filepath.Join(dir, src))
				if err != nil {
					errs = append(errs, fmt.Errorf("service %s mounts %s: %w", name, src, err))
				} else if name == "envoy" {
					boot, err := loadEnvoy(b)
					if err != nil {
						errs = append(errs, fmt.Errorf("service envoy mounts %s: %w", src, err))
						continue
					}
					// Every upstream Envoy dials is a service of this file.
					for _, cl := range boot.GetStaticResources().GetClusters() {
						for _, le := range cl.GetLoadAssignment().GetEndpoints() {
							for _, lb := range le.GetLbEndpoints() {
								host := lb.GetEndpoint().GetAddress().GetSocketAddress().GetAddress()
								if _, ok := c.Services[host]; !ok {
									errs = append(errs, fmt.Errorf("envoy cluster %s dials %q, which is no service", cl.GetName(), host))
								}
							}
						}
					}
				}
			} else if _, ok := c.Volumes[src]; !ok {
				errs = append(errs, fmt.Errorf("service %s uses undeclared volume %q", name, src))
			}
		}
	}
	g := c.Services["gatehouse"]
	if g.Build == nil || filepath.Clean(filepath.Join(dir, g.Build.Context, g.Build.Dockerfile)) != filepath.Clean("../deploy/docker/Dockerfile") {
		errs = append(errs, errors.New("gatehouse is not built from deploy/docker/Dockerfile with the repository root as context"))
	}
	if !strings.HasPrefix(g.Environment["DATABASE_URL"], "postgres://") {
		errs = append(errs, errors.New("gatehouse does not use the postgres service (DATABASE_URL)"))
	}
	if g.Healthcheck == nil || !slices.Contains(g.Healthcheck.Test, "healthcheck") {
		errs = append(errs, errors.New("gatehouse's healthcheck does not run `gatehouse healthcheck`"))
	}
	return errors.Join(errs...)
}

func TestCompose(t *testing.T) {
	if err := checkCompose(read(t, "compose/compose.yaml"), "compose"); err != nil {
		t.Fatal(err)
	}
}

func dockerMutations() []mutation {
	compose := func(b []byte) error { return checkCompose(b, "compose") }
	return []mutation{
		{"dockerfile: misspelt instruction", "docker/Dockerfile", "HEALTHCHECK --interval", "HEALTHCHEK --interval", checkDockerfile},
		{"dockerfile: root user", "docker/Dockerfile", "USER 65532:65532", "USER root", checkDockerfile},
		{"dockerfile: cgo on", "docker/Dockerfile", "CGO_ENABLED=0", "CGO_ENABLED=1", checkDockerfile},
		{"dockerfile: port missing", "docker/Dockerfile", "EXPOSE 9191 8080", "EXPOSE 8080", checkDockerfile},
		{"dockerfile: one stage", "docker/Dockerfile", "FROM gcr.io/distroless/static-debian12:nonroot AS runtime", "", checkDockerfile},
		{"compose: misspelt key", "compose/compose.yaml", "depends_on:", "depend_on:", compose},
		{"compose: missing mount", "compose/compose.yaml", "../envoy/envoy.yaml:", "../envoy/nosuch.yaml:", compose},
		{"compose: upstream renamed", "compose/compose.yaml", "  controller:\n", "  upstream-app:\n", compose},
		{"compose: unknown dependency", "compose/compose.yaml", "      postgres:\n        condition", "      postgre:\n        condition", compose},
	}
}
