package loadkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Paths of the benchmark's binaries, relative to the bench/ directory. The
// Makefile builds the same files (targets bench-tools and build).
const (
	GatehouseBin = "bin/gatehouse"
	OPAEnvoyBin  = "bin/opa-envoy-plugin"
	PolicyFile   = "opa/policy.rego"
	RolesFile    = "../policies/gatehouse/roles/data.yaml"
	// OPAEnvoyToolsDir is a module of its own that pins the OPA-Envoy plugin
	// (v1.4.2-envoy) in its go.mod and go.sum, so the build is reproducible
	// and its dependencies stay out of both bench/go.mod and the main one.
	OPAEnvoyToolsDir = "tools/opa-envoy"
	OPAEnvoyPackage  = "github.com/open-policy-agent/opa-envoy-plugin/cmd/opa-envoy-plugin"
)

// BuildGatehouse builds ../cmd/gatehouse into out (relative to bench/).
func BuildGatehouse(out string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	return goBuild("..", abs, "./cmd/gatehouse")
}

// BuildOPAEnvoy builds the pinned OPA-Envoy plugin into out (relative to
// bench/). It needs the Go module proxy only.
func BuildOPAEnvoy(out string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	return goBuild(OPAEnvoyToolsDir, abs, OPAEnvoyPackage)
}

func goBuild(dir, out, pkg string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s in %s: %w", pkg, dir, err)
	}
	return nil
}
