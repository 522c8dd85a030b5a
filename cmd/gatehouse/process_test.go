package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehouse-authz/gatehouse/policies"
)

// The process tests run the real `gatehouse serve` in a child process: this
// test binary, re-executed with execMainEnv set, runs main() instead of the
// tests, so no separate build is needed.
const execMainEnv = "GATEHOUSE_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(execMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// proc is one `gatehouse serve` child process.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	start  time.Time
	mu     sync.Mutex
	stderr strings.Builder
	addrs  chan [2]string // grpc, http from the "listening" log line
	exited chan struct{}
	err    error // of Wait, after exited
}

// startServe starts `gatehouse serve` with env (plus loopback listen
// addresses); the process is killed when the test ends if still running.
func startServe(t *testing.T, env map[string]string) *proc {
	t.Helper()
	p := &proc{t: t, addrs: make(chan [2]string, 1), exited: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "serve")
	p.cmd.Env = []string{execMainEnv + "=1", "PATH=" + os.Getenv("PATH"), "GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0"}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			var l struct{ Msg, GRPC, HTTP string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "listening" {
				p.addrs <- [2]string{l.GRPC, l.HTTP}
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// wait waits (bounded, generous) for the process to exit and returns its
// exit code and how long it ran.
func (p *proc) wait(limit time.Duration) (int, time.Duration) {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(limit):
		p.t.Fatalf("gatehouse serve still running after %v; logs:\n%s", limit, p.logs())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		code = ee.ExitCode()
	} else if p.err != nil {
		p.t.Fatal(p.err)
	}
	return code, time.Since(p.start)
}

// dial waits for the listening line and connects to the gRPC listener.
func (p *proc) dial() *grpc.ClientConn {
	p.t.Helper()
	var addrs [2]string
	select {
	case addrs = <-p.addrs:
	case <-p.exited:
		p.t.Fatalf("gatehouse serve exited: %v; logs:\n%s", p.err, p.logs())
	case <-time.After(2 * time.Minute):
		p.t.Fatalf("gatehouse serve never listened; logs:\n%s", p.logs())
	}
	conn, err := grpc.NewClient("passthrough:///"+addrs[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { conn.Close() })
	return conn
}

// embeddedEnv is a SQLite deployment in its own data directory.
func embeddedEnv(t *testing.T, kv ...string) map[string]string {
	env := map[string]string{
		"AUTH_MODE":                "embedded",
		"CONTROLLER_PUBLIC_URL":    "http://localhost:8080",
		"AUTH_INSECURE_ALLOW_HTTP": "true",
		"DATA_DIR":                 t.TempDir(),
		"LOG_DECISIONS":            "false",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

// policyDir copies the default policy into a directory and overwrites
// authz.rego with rego (unless empty).
func policyDir(t *testing.T, rego string) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(policies.Default, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.rego") {
			return err
		}
		b, err := fs.ReadFile(policies.Default, p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rego != "" {
		if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte(rego), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestPromise4_PolicyCompileErrorAtStartExits: `gatehouse serve` with a
// POLICY_DIR that does not compile exits non-zero on its own, naming the file
// and the line, for a parse error and for a compile (type, safety) error.
func TestPromise4_PolicyCompileErrorAtStartExits(t *testing.T) {
	for _, tt := range []struct {
		name, rego, line string
	}{
		{"parse error", "package gatehouse.authz\n\ndecision := {\"allow\": true,\n\nnot rego at all\n", "authz.rego:"},
		{"type error", "package gatehouse.authz\n\nx := 1\n\ndecision := {\"allow\": true} if { 1 + \"x\" }\n", "authz.rego:5"},
		{"unsafe variable", "package gatehouse.authz\n\n\n\n\n\ndecision := d if { d.allow }\n", "authz.rego:7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := startServe(t, embeddedEnv(t, "POLICY_DIR", policyDir(t, tt.rego)))
			code, took := p.wait(2 * time.Minute)
			logs := p.logs()
			if code == 0 {
				t.Fatalf("exit code 0 with a broken policy; logs:\n%s", logs)
			}
			if !strings.Contains(logs, tt.line) || !strings.Contains(logs, "POLICY_DIR") {
				t.Fatalf("the error does not name the file and line (%q); logs:\n%s", tt.line, logs)
			}
			t.Logf("exited %d after %v (promise: 5s): %s", code, took.Round(time.Millisecond), strings.TrimSpace(logs))
		})
	}
}

// holdPolicy allows everything; on /api/v3/hold the evaluation waits on an
// HTTP call to url, so the test holds a Check in flight as long as it wants.
func holdPolicy(url string) string {
	return `package gatehouse.authz

held := http.send({"method": "GET", "url": "` + url + `", "timeout": "120s"}).status_code if input.request.path == "/api/v3/hold"

decision := {"allow": true, "status": 200, "reason": sprintf("HELD_%d", [held]), "subject": "s", "groups": [], "headers": {}} if input.request.path == "/api/v3/hold"

decision := {"allow": true, "status": 200, "reason": "A", "subject": "s", "groups": [], "headers": {}} if input.request.path != "/api/v3/hold"
`
}

// holder is an HTTP endpoint that answers only when released.
type holder struct {
	srv     *httptest.Server
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func newHolder(t *testing.T) *holder {
	h := &holder{arrived: make(chan struct{}, 16), release: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.arrived <- struct{}{}
		select {
		case <-h.release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { h.free(); h.srv.Close() })
	return h
}

func (h *holder) free() { h.once.Do(func() { close(h.release) }) }

func (h *holder) waitArrived(t *testing.T) {
	t.Helper()
	select {
	case <-h.arrived:
	case <-time.After(2 * time.Minute):
		t.Fatal("the held Check never reached the policy")
	}
}

func holdCheck(ctx context.Context, conn *grpc.ClientConn, path string) (*authv3.CheckResponse, error) {
	return authv3.NewAuthorizationClient(conn).Check(ctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: path, Host: "api.example"},
	}}})
}

// waitServing polls gRPC health (bounded) until SERVING.
func waitServing(t *testing.T, p *proc, conn *grpc.ClientConn) time.Duration {
	t.Helper()
	hc := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "envoy.service.auth.v3.Authorization"})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return time.Since(p.start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("never SERVING (%v, %v); logs:\n%s", resp.GetStatus(), err, p.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPromiseLifecycle_SIGTERMDrains: a real `gatehouse serve` on SQLite
// turns SERVING; on SIGTERM its health turns NOT_SERVING while a Check is
// still in flight (at once, not after draining), that Check finishes with its
// decision, and the process exits 0 on its own.
func TestPromiseLifecycle_SIGTERMDrains(t *testing.T) {
	h := newHolder(t)
	p := startServe(t, embeddedEnv(t, "POLICY_DIR", policyDir(t, holdPolicy(h.srv.URL+"/hold")),
		"POLICY_EVAL_TIMEOUT", "2m", "SHUTDOWN_TIMEOUT", "2m"))
	conn := p.dial()
	took := waitServing(t, p, conn)
	t.Logf("SERVING %v after start (promise: 5s)", took.Round(time.Millisecond))

	watch, err := healthpb.NewHealthClient(conn).Watch(t.Context(), &healthpb.HealthCheckRequest{Service: "envoy.service.auth.v3.Authorization"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := watch.Recv(); err != nil || st.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health watch: %v %v", st, err)
	}

	type result struct {
		resp *authv3.CheckResponse
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		resp, err := holdCheck(ctx, conn, "/api/v3/hold")
		inflight <- result{resp, err}
	}()
	h.waitArrived(t)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// NOT_SERVING while the Check is still held: health turns first.
	st, err := watch.Recv()
	if err == nil && st.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health after SIGTERM: %v", st.GetStatus())
	}
	select {
	case r := <-inflight:
		t.Fatalf("the in-flight Check ended before it was released: %v %v", r.resp, r.err)
	default:
	}
	h.free()
	r := <-inflight
	if r.err != nil || r.resp.GetOkResponse() == nil || r.resp.GetStatus().GetMessage() != "" && r.resp.GetStatus().GetCode() != 0 {
		t.Fatalf("the in-flight Check did not finish with its decision: %v %v", r.resp, r.err)
	}
	code, _ := p.wait(2 * time.Minute)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM; logs:\n%s", code, p.logs())
	}
}

// TestPromiseLifecycle_SIGTERMExitsWithinShutdownTimeout: a Check that never
// finishes does not keep the process alive past SHUTDOWN_TIMEOUT.
func TestPromiseLifecycle_SIGTERMExitsWithinShutdownTimeout(t *testing.T) {
	h := newHolder(t)
	p := startServe(t, embeddedEnv(t, "POLICY_DIR", policyDir(t, holdPolicy(h.srv.URL+"/hold")),
		"POLICY_EVAL_TIMEOUT", "2m", "SHUTDOWN_TIMEOUT", "1s"))
	conn := p.dial()
	waitServing(t, p, conn)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		_, _ = holdCheck(ctx, conn, "/api/v3/hold")
	}()
	h.waitArrived(t)
	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The held Check would last 2 minutes; the process must end long
	// before (generous bound for a loaded machine).
	select {
	case <-p.exited:
	case <-time.After(90 * time.Second):
		t.Fatalf("still running 90s after SIGTERM with SHUTDOWN_TIMEOUT=1s; logs:\n%s", p.logs())
	}
	t.Logf("exited %v after SIGTERM with SHUTDOWN_TIMEOUT=1s and a Check held in flight", time.Since(signalled).Round(time.Millisecond))
}
