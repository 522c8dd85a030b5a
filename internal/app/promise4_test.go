package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

// fixedPolicy allows every request with reason, and conditions on the path
// for the faults of promise 4.
func fixedPolicy(reason string) string {
	return `package gatehouse.authz

slow := count([x | some i in numbers.range(1, 10000); some j in numbers.range(1, 10000); x := i * j]) if input.request.path == "/api/v3/slow"

decision := {"allow": true, "status": 200, "reason": "` + reason + `", "subject": "s", "groups": [], "headers": {}} if {
	not input.request.path in {"/api/v3/slow", "/api/v3/boom"}
}

decision := {"allow": true, "status": 200, "reason": sprintf("%d", [slow]), "subject": "s", "groups": [], "headers": {}} if input.request.path == "/api/v3/slow"

# Two values for one request: a runtime conflict, for this path only.
decision := {"allow": true, "status": 200, "reason": "X", "subject": "s", "groups": [], "headers": {}} if input.request.path == "/api/v3/boom"
decision := {"allow": false, "status": 403, "reason": "Y", "subject": "s", "groups": [], "headers": {}} if input.request.path == "/api/v3/boom"
`
}

// checker runs Checks continuously from several goroutines and records every
// answer that is not an allow with one of the accepted reasons.
type checker struct {
	g       *gh
	path    string
	mu      sync.Mutex
	reasons map[string]int // allow reasons seen
	bad     []string
	total   atomic.Int64
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startChecker(g *gh, path string, workers int) *checker {
	c := &checker{g: g, path: path, reasons: map[string]int{}, stop: make(chan struct{})}
	for range workers {
		c.wg.Go(func() {
			for {
				select {
				case <-c.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				resp, err := g.authz.Check(ctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
					Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: c.path, Host: "api.example"},
				}}})
				cancel()
				c.total.Add(1)
				c.mu.Lock()
				switch {
				case err != nil:
					c.bad = append(c.bad, "gRPC error: "+err.Error())
				case resp.GetOkResponse() == nil:
					c.bad = append(c.bad, fmt.Sprintf("deny %d %s", resp.GetDeniedResponse().GetStatus().GetCode(), resp.GetStatus().GetMessage()))
				default:
					c.reasons["allowed"]++
				}
				c.mu.Unlock()
			}
		})
	}
	return c
}

func (c *checker) finish(t *testing.T) {
	t.Helper()
	close(c.stop)
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) > 0 {
		t.Fatalf("%d of %d Checks failed during the reloads; first: %s", len(c.bad), c.total.Load(), c.bad[0])
	}
	if c.total.Load() == 0 {
		t.Fatal("no Check ran")
	}
	t.Logf("%d Checks during the reloads, none failed", c.total.Load())
}

var reloadErrors = regexp.MustCompile(`gatehouse_policy_reloads_total\{result="error"\} (\d+)`)

// policyReloadErrors reads the failed-reload counter from /metrics.
func (g *gh) policyReloadErrors() int {
	g.t.Helper()
	_, _, body := g.httpDo("GET", "/metrics", "")
	m := reloadErrors.FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// reasonOf asks the gatehouse.v1 door, which carries the policy's reason on
// allows too.
func (g *gh) reasonOf(path string) (bool, int, string) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := g.v1.Check(ctx, &gatehousev1.CheckRequest{Method: "GET", Path: path})
	if err != nil {
		g.t.Fatalf("gatehouse.v1 Check: %v", err)
	}
	return resp.GetAllowed(), int(resp.GetHttpStatus()), resp.GetReason()
}

// TestPromise4_HotReloadNeverFailsACheck: while Checks run without pause, the
// policy directory is broken in every way (syntax error, half-written file,
// no decision rule, type error): each broken version is refused and counted,
// the previous policy keeps answering, and not one Check fails; a good
// change then applies on its own.
func TestPromise4_HotReloadNeverFailsACheck(t *testing.T) {
	dir := t.TempDir()
	copyPolicyData(t, dir)
	file := filepath.Join(dir, "authz.rego")
	writeFile(t, file, fixedPolicy("A"))
	iss := testenv.NewIssuer(t)
	// The evaluation deadline has its own test below: here a loaded machine
	// starving one evaluation past 100ms must not pass for a reload fault.
	g := start(t, externalEnv(t, iss, "POLICY_DIR", dir, "POLICY_EVAL_TIMEOUT", "10s"), true)
	if ok, _, reason := g.reasonOf("/api/v3/anything"); !ok {
		t.Fatalf("policy A does not allow: %s", reason)
	}

	c := startChecker(g, "/api/v3/anything", 3)
	broken := []struct{ name, rego string }{
		{"syntax error", "package gatehouse.authz\n\ndecision := {\"allow\": true,\n"},
		{"half-written file", fixedPolicy("B")[:len(fixedPolicy("B"))/2]},
		{"no decision rule", "package gatehouse.authz\n\nsomething_else := true\n"},
		{"type error", "package gatehouse.authz\n\ndecision := {\"allow\": true} if { 1 + \"x\" }\n"},
		{"unsafe variable", "package gatehouse.authz\n\ndecision := d if { d.allow }\n"},
	}
	for i, b := range broken {
		writeFile(t, file, b.rego)
		deadline := time.Now().Add(time.Minute)
		for g.policyReloadErrors() < i+1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the broken policy was never refused", b.name)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if ok, _, reason := g.reasonOf("/api/v3/anything"); !ok || reason != "A" {
			t.Fatalf("after a %s: allowed %v reason %q, want the previous policy (A)", b.name, ok, reason)
		}
	}
	writeFile(t, file, fixedPolicy("B"))
	changed := time.Now()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, _, reason := g.reasonOf("/api/v3/anything"); reason == "B" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a good change never applied")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the good change applied %v after it was written (promise: 5s)", time.Since(changed).Round(time.Millisecond))
	c.finish(t)
}

// TestPromise4_EvalDeadlineAndRuntimeErrorAreOneRequestOnly: an evaluation
// past the deadline (POLICY_EVAL_TIMEOUT, default 100ms) and a runtime conflict each
// answer that request 503, while Checks running beside them, and after them,
// are answered normally.
func TestPromise4_EvalDeadlineAndRuntimeErrorAreOneRequestOnly(t *testing.T) {
	dir := t.TempDir()
	copyPolicyData(t, dir)
	writeFile(t, filepath.Join(dir, "authz.rego"), fixedPolicy("A"))
	iss := testenv.NewIssuer(t)
	// 1s rather than the 100ms default: the slow rule takes far longer
	// either way, and a machine loaded past its cores must not starve a
	// trivial evaluation into the deadline (that would be a correct 503, but
	// not this test's fault).
	g := start(t, externalEnv(t, iss, "POLICY_DIR", dir, "POLICY_EVAL_TIMEOUT", "1s"), true)

	c := startChecker(g, "/api/v3/anything", 2)
	for range 3 {
		if ok, status, reason := g.reasonOf("/api/v3/slow"); ok || status != 503 || reason != "DEADLINE_EXCEEDED" {
			t.Fatalf("slow evaluation: allowed %v status %d reason %s, want 503 DEADLINE_EXCEEDED", ok, status, reason)
		}
		if ok, status, reason := g.reasonOf("/api/v3/boom"); ok || status != 503 || reason != "POLICY_ERROR" {
			t.Fatalf("runtime conflict: allowed %v status %d reason %s, want 503 POLICY_ERROR", ok, status, reason)
		}
	}
	c.finish(t)
	if ok, _, reason := g.reasonOf("/api/v3/anything"); !ok || reason != "A" {
		t.Fatalf("after the faults: allowed %v reason %s", ok, reason)
	}
}
