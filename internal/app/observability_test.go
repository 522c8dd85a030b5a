package app_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/gatehouse-authz/gatehouse/decision"
	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/internal/tracing"
)

// collector is an in-process OTLP/gRPC trace collector.
type collector struct {
	collectortracepb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (c *collector) Export(_ context.Context, req *collectortracepb.ExportTraceServiceRequest) (*collectortracepb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}
	return &collectortracepb.ExportTraceServiceResponse{}, nil
}

func startCollector(t *testing.T) (*collector, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	s := grpc.NewServer()
	collectortracepb.RegisterTraceServiceServer(s, c)
	go s.Serve(ln) //nolint:errcheck // ends with Stop
	t.Cleanup(s.Stop)
	return c, ln.Addr().String()
}

// TestTracingSpanPerCheck: with tracing pointed at an in-process collector,
// a Check carrying a traceparent produces one span, child of that trace,
// with the decision as attributes.
func TestTracingSpanPerCheck(t *testing.T) {
	col, addr := startCollector(t)
	f := newFixture(t, "OTEL_EXPORTER_OTLP_ENDPOINT", addr, "OTEL_EXPORTER_OTLP_INSECURE", "true")
	if _, ok := f.g.app.ServedDecider().(*decision.Decider); ok {
		t.Fatal("tracing is on but the doors call the bare decision core")
	}
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	h := bearer(f.withGroups("viewer"))
	h["traceparent"] = "00-" + traceID + "-00f067aa0ba902b7-01"
	o := f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: h})
	wantStatus(t, o, 200)
	f.g.decide(req{method: "POST", path: "/api/v3/microservices", headers: bearer(f.withGroups("viewer"))})
	f.g.stop() // shutdown flushes the batch: no waiting on timers

	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.spans) != 2 {
		t.Fatalf("%d spans exported, want 2", len(col.spans))
	}
	var allowed, denied *tracepb.Span
	for _, s := range col.spans {
		if s.GetName() != "gatehouse.Check" {
			t.Fatalf("span name %q", s.GetName())
		}
		for _, kv := range s.GetAttributes() {
			if kv.GetKey() == tracing.AttrAllow {
				if kv.GetValue().GetBoolValue() {
					allowed = s
				} else {
					denied = s
				}
			}
		}
	}
	if allowed == nil || denied == nil {
		t.Fatalf("want one allowed and one denied span: %v", col.spans)
	}
	if got := hexID(allowed.GetTraceId()); got != traceID {
		t.Errorf("allowed span trace %s, want the request's %s", got, traceID)
	}
	if hexID(allowed.GetParentSpanId()) != "00f067aa0ba902b7" {
		t.Errorf("parent span %x", allowed.GetParentSpanId())
	}
	attrs := map[string]any{}
	for _, kv := range denied.GetAttributes() {
		v := kv.GetValue()
		switch {
		case v.GetStringValue() != "":
			attrs[kv.GetKey()] = v.GetStringValue()
		default:
			attrs[kv.GetKey()] = v.GetIntValue()
		}
	}
	if attrs[tracing.AttrStatus] != int64(403) || attrs[tracing.AttrReason] == "" || attrs[tracing.AttrDecisionID] == "" ||
		attrs["http.request.method"] != "POST" || attrs["url.path"] != "/api/v3/microservices" {
		t.Fatalf("denied span attributes %v", attrs)
	}
}

func hexID(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestTracingOffLeavesTheCoreUnwrapped: without an endpoint the doors call
// the decision core itself.
func TestTracingOffLeavesTheCoreUnwrapped(t *testing.T) {
	f := newFixture(t)
	d, ok := f.g.app.ServedDecider().(*decision.Decider)
	if !ok || d != f.g.app.Decider() {
		t.Fatalf("tracing off, but the doors call %T", f.g.app.ServedDecider())
	}
}

// TestMetricsAreDocumented checks docs/metrics.md against /metrics in both
// directions.
func TestMetricsAreDocumented(t *testing.T) {
	f := newFixture(t)
	f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(f.withGroups("viewer"))})
	code, _, body := f.g.httpDo("GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics %d", code)
	}
	exposed := map[string]string{}
	typeLine := regexp.MustCompile(`^# TYPE (\S+) (\S+)$`)
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if m := typeLine.FindStringSubmatch(sc.Text()); m != nil {
			exposed[m[1]] = m[2]
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	row := regexp.MustCompile("^\\| `(gatehouse_[a-z0-9_]+)` \\| ([a-z]+) \\|")
	for _, line := range strings.Split(string(doc), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			documented[m[1]] = m[2]
		}
	}
	if len(documented) == 0 {
		t.Fatal("docs/metrics.md documents no metric")
	}
	for name, typ := range exposed {
		if !strings.HasPrefix(name, "gatehouse_") {
			continue
		}
		if d, ok := documented[name]; !ok {
			t.Errorf("/metrics exposes %s (%s), which docs/metrics.md does not document", name, typ)
		} else if d != typ {
			t.Errorf("%s is a %s, docs/metrics.md says %s", name, typ, d)
		}
	}
	for name := range documented {
		if _, ok := exposed[name]; !ok {
			t.Errorf("docs/metrics.md documents %s, which /metrics does not expose", name)
		}
	}
}

// TestPprofOnItsOwnListener: PPROF_ADDR serves profiles on a separate
// listener; the service port never does, and without PPROF_ADDR nothing
// listens.
func TestPprofOnItsOwnListener(t *testing.T) {
	f := newFixture(t, "PPROF_ADDR", "127.0.0.1:0")
	addr := f.g.app.PprofAddr()
	if addr == "" {
		t.Fatal("PPROF_ADDR set but no pprof listener")
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("pprof answered %d", resp.StatusCode)
	}
	if code, _, _ := f.g.httpDo("GET", "/debug/pprof/cmdline", ""); code != http.StatusNotFound {
		t.Fatalf("the service port serves pprof (%d)", code)
	}
	if off := newFixture(t); off.g.app.PprofAddr() != "" {
		t.Fatal("pprof listens without PPROF_ADDR")
	}
}

// TestDecisionLogFile: DECISION_LOG_FILE receives one JSON line per
// decision, with no credential in it.
func TestDecisionLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.log")
	f := newFixture(t, "DECISION_LOG_FILE", path)
	tok := f.withGroups("viewer")
	o := f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(tok)})
	f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(tok + "x")})
	f.g.stop()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if strings.Count(log, `"msg":"decision"`) < 2 || !strings.Contains(log, o.upstream["x-gatehouse-decision-id"]) {
		t.Fatalf("decision log lacks the decisions:\n%s", log)
	}
	if strings.Contains(log, tok[:40]) {
		t.Fatalf("decision log carries the token:\n%s", log)
	}
	if strings.Contains(f.g.logs.String(), `"msg":"decision"`) {
		t.Fatal("decision lines still go to the process log")
	}
}

func TestMaskCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"authorization: Bearer abc.def.ghi":   "authorization: Bearer ****",
		"basic dTpw failed":                   "basic **** failed",
		"token eyJhbGciOi.eyJzdWIi.c2ln seen": "token **** seen",
		"kid eyJhbGciOi.eyJzdWIi.c2ln":        "kid ****",
		"no secret here":                      "no secret here",
	} {
		if got := app.MaskCredentials(in); got != want {
			t.Errorf("MaskCredentials(%q) = %q, want %q", in, got, want)
		}
	}
}
