package loadkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/proto"
)

// Server names, as accepted by Setup.
const (
	NameGatehouse = "gatehouse"
	// NameGatehouseCold is Gatehouse with an identity cache of one entry
	// (IDENTITY_CACHE_SIZE=1): with distinct tokens sent round-robin, every
	// call verifies its token's signature and reads its claims, the "every
	// token new" case. Decisions are still cached per identity and route.
	NameGatehouseCold = "gatehouse-cold"
	NameOPAEnvoy      = "opa-envoy"
)

// IsGatehouse reports whether the named server is a Gatehouse process.
func IsGatehouse(name string) bool { return name == NameGatehouse || name == NameGatehouseCold }

// Env is a running benchmark environment: a temporary data directory with
// Gatehouse's signing key, and the servers started on loopback.
type Env struct {
	Dir     string
	Minter  *Minter
	Servers []*Server
}

// Setup starts the named servers from the binaries in bench/bin (or
// $GATEHOUSE_BIN, $OPA_ENVOY_BIN). It must run in the bench/ directory.
func Setup(ctx context.Context, names []string) (*Env, error) {
	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	env := &Env{Dir: dir}
	if env.Minter, err = NewMinter(dir); err != nil {
		env.Close()
		return nil, err
	}
	for _, name := range names {
		var s *Server
		switch name {
		case NameGatehouse, NameGatehouseCold:
			// Each Gatehouse gets a data directory (and database) of its
			// own, with a copy of the signing key the Minter trusts.
			bin := binPath("GATEHOUSE_BIN", GatehouseBin)
			var extra []string
			if name == NameGatehouseCold {
				extra = append(extra, "IDENTITY_CACHE_SIZE=1")
			}
			var sub string
			if err = Binary(bin); err == nil {
				sub, err = copyKeyDir(dir, name)
			}
			if err == nil {
				s, err = StartGatehouseAs(ctx, name, bin, sub, extra...)
			}
		case NameOPAEnvoy:
			bin := binPath("OPA_ENVOY_BIN", OPAEnvoyBin)
			if err = Binary(bin); err == nil {
				s, err = StartOPA(ctx, bin, PolicyFile, RolesFile, dir, env.Minter.Signer.JWKS())
			}
		default:
			err = fmt.Errorf("unknown server %q (want %s, %s or %s)", name, NameGatehouse, NameGatehouseCold, NameOPAEnvoy)
		}
		if errors.Is(err, ErrNotInstalled) {
			err = fmt.Errorf("%w (run `make bench-tools`)", err)
		}
		if err != nil {
			env.Close()
			return nil, err
		}
		env.Servers = append(env.Servers, s)
	}
	return env, nil
}

// copyKeyDir makes dir/name holding copies of the regular files in dir,
// which at this point are only the signing key the Minter created.
func copyKeyDir(dir, name string) (string, error) {
	sub := filepath.Join(dir, name)
	if err := os.Mkdir(sub, 0o700); err != nil {
		return "", fmt.Errorf("data dir for %s: %w", name, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("data dir for %s: %w", name, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(sub, e.Name()), b, 0o600)
		}
		if err != nil {
			return "", fmt.Errorf("data dir for %s: %w", name, err)
		}
	}
	return sub, nil
}

func binPath(envVar, def string) string {
	if p := os.Getenv(envVar); p != "" {
		return p
	}
	return def
}

// Close stops the servers and removes the data directory.
func (e *Env) Close() {
	for _, s := range e.Servers {
		if err := s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.RemoveAll(e.Dir)
}

// Preflight sends every payload of w once to srv and checks the number of
// allowed verdicts, so a misconfigured run (every call a 401, say) fails
// before it is measured.
func Preflight(ctx context.Context, srv *Server, w *Workload) error {
	c, err := Dial(srv.GRPCAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	allowed := 0
	for _, p := range w.Payloads {
		req := &authv3.CheckRequest{}
		if err := proto.Unmarshal(p, req); err != nil {
			return fmt.Errorf("preflight: %w", err)
		}
		v, err := c.Check(ctx, req)
		if err != nil {
			return fmt.Errorf("preflight %s: %w", srv.Name, err)
		}
		if v.Allowed {
			allowed++
		}
	}
	if allowed != w.Allowed {
		return fmt.Errorf("preflight %s %s: %d of %d requests allowed, want %d", srv.Name, w.Name, allowed, len(w.Payloads), w.Allowed)
	}
	return nil
}
