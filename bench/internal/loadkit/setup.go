package loadkit

import (
	"context"
	"errors"
	"fmt"
	"os"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/proto"
)

// Server names, as accepted by Setup.
const (
	NameGatehouse = "gatehouse"
	NameOPAEnvoy  = "opa-envoy"
)

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
		case NameGatehouse:
			bin := binPath("GATEHOUSE_BIN", GatehouseBin)
			if err = Binary(bin); err == nil {
				s, err = StartGatehouse(ctx, bin, dir)
			}
		case NameOPAEnvoy:
			bin := binPath("OPA_ENVOY_BIN", OPAEnvoyBin)
			if err = Binary(bin); err == nil {
				s, err = StartOPA(ctx, bin, PolicyFile, RolesFile, dir, env.Minter.Signer.JWKS())
			}
		default:
			err = fmt.Errorf("unknown server %q (want %s or %s)", name, NameGatehouse, NameOPAEnvoy)
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
