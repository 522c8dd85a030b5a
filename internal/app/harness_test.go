package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

// gh is one Gatehouse process running in-process on loopback.
type gh struct {
	t       testing.TB
	app     *app.App
	conn    *grpc.ClientConn
	authz   authv3.AuthorizationClient
	v1      gatehousev1.AuthServiceClient
	health  healthpb.HealthClient
	base    string // http://127.0.0.1:port
	logs    *syncBuffer
	cancel  context.CancelFunc
	done    chan error
	dataDir string
	stopped sync.Once
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// externalEnv is a decision-only deployment trusting the test issuer.
func externalEnv(t *testing.T, iss *testenv.Issuer, kv ...string) map[string]string {
	env := map[string]string{
		"AUTH_MODE":                "external",
		"OIDC_ISSUER_URL":          iss.URL(),
		"OIDC_CLIENT_ID":           iss.Audience(),
		"AUTH_LOGIN_ENABLED":       "false",
		"AUTH_INSECURE_ALLOW_HTTP": "true",
		"DATA_DIR":                 t.TempDir(),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

// start runs Gatehouse with env (listen addresses forced to loopback port 0)
// and, when waitReady, returns once gRPC health says SERVING.
func start(t testing.TB, env map[string]string, waitReady bool) *gh {
	t.Helper()
	env["GRPC_ADDR"] = "127.0.0.1:0"
	if env["HTTP_ADDR"] == "" { // tests that need a known public URL pick the port
		env["HTTP_ADDR"] = "127.0.0.1:0"
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("app.New: %v", err)
	}
	g := &gh{t: t, app: a, logs: logs, cancel: cancel, done: make(chan error, 1), base: "http://" + a.HTTPAddr(), dataDir: env["DATA_DIR"]}
	go func() { g.done <- a.Run(ctx) }()
	g.conn, err = grpc.NewClient("passthrough:///"+a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	g.authz = authv3.NewAuthorizationClient(g.conn)
	g.v1 = gatehousev1.NewAuthServiceClient(g.conn)
	g.health = healthpb.NewHealthClient(g.conn)
	t.Cleanup(g.stop)
	if waitReady {
		g.waitServing(healthpb.HealthCheckResponse_SERVING)
	}
	return g
}

// stop ends the process once; later calls do nothing.
func (g *gh) stop() { g.stopped.Do(g.stopNow) }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func (g *gh) stopNow() {
	g.cancel()
	select {
	case err := <-g.done:
		if err != nil {
			g.t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		g.t.Error("Gatehouse did not stop within 15s")
	}
	g.conn.Close()
}

// waitServing polls health (bounded) until it reports want.
func (g *gh) waitServing(want healthpb.HealthCheckResponse_ServingStatus) {
	g.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := g.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "envoy.service.auth.v3.Authorization"})
		cancel()
		if err == nil && resp.GetStatus() == want {
			return
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("health never reached %v (last %v, %v); logs:\n%s", want, resp.GetStatus(), err, g.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// req describes one HTTP request to decide.
type req struct {
	method, path string
	headers      map[string]string
	source       string
}

func bearer(tok string) map[string]string { return map[string]string{"authorization": "Bearer " + tok} }

// check asks the ext_authz door.
func (g *gh) check(r req) *authv3.CheckResponse {
	g.t.Helper()
	h := map[string]string{}
	for k, v := range r.headers {
		h[k] = v
	}
	cr := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: r.method, Path: r.path, Host: "api.example", Headers: h,
		}},
	}}
	if r.source != "" {
		cr.Attributes.Source = &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: r.source}}}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := g.authz.Check(ctx, cr)
	if err != nil {
		g.t.Fatalf("ext_authz Check returned a gRPC error (decisions must be responses): %v", err)
	}
	return resp
}

// outcome is a door-neutral view of a decision, to compare doors.
type outcome struct {
	allowed  bool
	status   int
	reason   string
	subject  string
	groups   string
	body     string
	upstream map[string]string
	remove   []string
	client   map[string]string
}

func fromEnvoy(resp *authv3.CheckResponse) outcome {
	o := outcome{upstream: map[string]string{}, client: map[string]string{}}
	if ok := resp.GetOkResponse(); ok != nil && resp.GetStatus().GetCode() == 0 {
		o.allowed, o.status = true, 200
		for _, h := range ok.GetHeaders() {
			o.upstream[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
		}
		o.remove = ok.GetHeadersToRemove()
		o.subject = o.upstream["x-gatehouse-subject"]
		o.groups = o.upstream["x-gatehouse-groups"]
		return o
	}
	d := resp.GetDeniedResponse()
	o.status = int(d.GetStatus().GetCode())
	o.body = d.GetBody()
	o.reason = resp.GetStatus().GetMessage()
	for _, h := range d.GetHeaders() {
		o.client[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	return o
}

// decide asks the ext_authz door and returns the neutral outcome.
func (g *gh) decide(r req) outcome {
	g.t.Helper()
	return fromEnvoy(g.check(r))
}

// checkV1 asks the gatehouse.v1 door.
func (g *gh) checkV1(r req) outcome {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := g.v1.Check(ctx, &gatehousev1.CheckRequest{Method: r.method, Path: r.path, Headers: r.headers, SourceAddress: r.source})
	if err != nil {
		g.t.Fatalf("gatehouse.v1 Check: %v", err)
	}
	return fromV1(resp)
}

func fromV1(resp *gatehousev1.CheckResponse) outcome {
	o := outcome{allowed: resp.GetAllowed(), status: int(resp.GetHttpStatus()), reason: resp.GetReason(), body: resp.GetBody(),
		upstream: resp.GetHeaders(), remove: resp.GetHeadersToRemove(), client: resp.GetResponseHeaders()}
	if o.upstream == nil {
		o.upstream = map[string]string{}
	}
	if o.allowed {
		o.subject = resp.GetSubject()
		o.groups = strings.Join(resp.GetGroups(), ",")
		o.reason = ""
	}
	return o
}

// httpDo performs a plain HTTP request against Gatehouse's HTTP listener.
func (g *gh) httpDo(method, path, body string) (int, http.Header, string) {
	g.t.Helper()
	return g.httpDoWith(method, path, body, nil)
}

// rest performs one HTTP request with headers and returns status and body.
func (g *gh) rest(method, path, body string, headers map[string]string) (int, string) {
	g.t.Helper()
	code, _, b := g.httpDoWith(method, path, body, headers)
	return code, b
}

// httpDoWith performs an HTTP request with headers (a JSON body when not
// empty) and returns status, response headers and body.
func (g *gh) httpDoWith(method, path, body string, headers map[string]string) (int, http.Header, string) {
	g.t.Helper()
	return g.send(http.DefaultClient, method, path, body, headers)
}

// send performs an HTTP request with client c and headers (a JSON body when
// not empty) and returns status, response headers and body.
func (g *gh) send(c *http.Client, method, path, body string, headers map[string]string) (int, http.Header, string) {
	g.t.Helper()
	hr, err := http.NewRequest(method, g.base+path, strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	if body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		hr.Header.Set(k, v)
	}
	resp, err := c.Do(hr)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
