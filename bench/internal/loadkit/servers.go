package loadkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Server is one authorization server process listening on loopback.
type Server struct {
	Name     string
	GRPCAddr string
	cmd      *exec.Cmd
	logPath  string
	done     chan error
}

// PID is the server's process id, for /proc sampling.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stop asks the server to shut down and waits a bounded time for it.
func (s *Server) Stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("%s did not stop within 15s; killed", s.Name)
	}
}

// LogTail is the end of the server's output, for error messages.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// FreePort asks the kernel for a free loopback port. The port is released
// before the server binds it; on a quiet benchmark machine nobody takes it
// in between.
func FreePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func start(name, logDir string, cmd *exec.Cmd) (*Server, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &Server{Name: name, cmd: cmd, logPath: logPath, done: make(chan error, 1)}
	go func() { err := cmd.Wait(); f.Close(); s.done <- err }()
	return s, nil
}

// waitHTTP polls url until it answers 200, the process exits or the bounded
// number of attempts is used up.
func (s *Server) waitHTTP(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	for range 300 { // 300 × 100 ms: OPA compiles the policy at start
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("%s exited during start-up (%v):\n%s", s.Name, err, s.LogTail())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready at %s after 30s:\n%s", s.Name, url, s.LogTail())
}

// StartGatehouse runs `gatehouse serve` in embedded mode with dataDir, which
// must already hold the signing key the Minter created. The server is called
// NameGatehouse; StartGatehouseAs names it and adds environment variables.
func StartGatehouse(ctx context.Context, bin, dataDir string) (*Server, error) {
	return StartGatehouseAs(ctx, NameGatehouse, bin, dataDir)
}

// StartGatehouseAs is StartGatehouse with a name for the results and extra
// environment variables (NAME=value) after the benchmark's defaults.
func StartGatehouseAs(ctx context.Context, name, bin, dataDir string, extraEnv ...string) (*Server, error) {
	grpcAddr, err := FreePort()
	if err != nil {
		return nil, err
	}
	httpAddr, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"AUTH_MODE=embedded", "CONTROLLER_PUBLIC_URL="+PublicURL, "AUTH_INSECURE_ALLOW_HTTP=true",
		"DATA_DIR="+dataDir, "GRPC_ADDR="+grpcAddr, "HTTP_ADDR="+httpAddr, "LOG_DECISIONS=false",
		"LOG_LEVEL=warn",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	s, err := start(name, dataDir, cmd)
	if err != nil {
		return nil, err
	}
	s.GRPCAddr = grpcAddr
	if err := s.waitHTTP(ctx, "http://"+httpAddr+"/readyz"); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// OPAQuery is the decision the OPA-Envoy plugin evaluates: an object with
// allowed, http_status and headers (see bench/opa/policy.rego).
const OPAQuery = "gatehouse/bench/envoy/result"

// StartOPA runs the OPA-Envoy plugin with policy (bench/opa/policy.rego),
// Gatehouse's system roles document at data.gatehouse.roles, and the
// issuer, audience and public JWKS at data.gatehouse_bench.config.
func StartOPA(ctx context.Context, bin, policy, rolesYAML, workDir string, jwks []byte) (*Server, error) {
	grpcAddr, err := FreePort()
	if err != nil {
		return nil, err
	}
	httpAddr, err := FreePort()
	if err != nil {
		return nil, err
	}
	// decode_verify takes the JWKS as a JSON string.
	cfg, err := json.Marshal(map[string]any{"issuer": Issuer, "audience": Audience, "jwks": string(jwks)})
	if err != nil {
		return nil, fmt.Errorf("opa config data: %w", err)
	}
	cfgPath := filepath.Join(workDir, "bench-config.json")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return nil, fmt.Errorf("opa config data: %w", err)
	}
	cmd := exec.Command(bin, "run", "--server", "--skip-version-check",
		"--addr", httpAddr, "--log-level", "error",
		"--set", "plugins.envoy_ext_authz_grpc.addr="+grpcAddr,
		"--set", "plugins.envoy_ext_authz_grpc.path="+OPAQuery,
		"--set", "decision_logs.console=false",
		policy, "gatehouse.roles:"+rolesYAML, "gatehouse_bench.config:"+cfgPath,
	)
	cmd.Env = os.Environ()
	s, err := start("opa-envoy", workDir, cmd)
	if err != nil {
		return nil, err
	}
	s.GRPCAddr = grpcAddr
	// ?plugins: ready only once the ext_authz gRPC server is up.
	if err := s.waitHTTP(ctx, "http://"+httpAddr+"/health?plugins"); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// ErrNotInstalled marks a missing server binary.
var ErrNotInstalled = errors.New("not installed")

// Binary checks that a file exists at path and is executable.
func Binary(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, ErrNotInstalled)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable: %w", path, ErrNotInstalled)
	}
	return nil
}
