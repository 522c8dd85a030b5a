// Package server composes Gatehouse's doors into one process: a gRPC listener
// (Envoy ext_authz, gatehouse.v1, health, reflection) and an HTTP listener
// (the REST facade, the /oidc issuer, /healthz, /readyz, /metrics), with a
// graceful stop that turns health NOT_SERVING at once and lets in-flight
// requests finish.
//
// It imports the doors and the decision core's interface; concrete
// authenticators, stores and the policy engine are handed in by cmd.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"

	"github.com/gatehouse-authz/gatehouse"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/server/authhttp"
	"github.com/gatehouse-authz/gatehouse/server/extauthz"
	"github.com/gatehouse-authz/gatehouse/server/forwardauth"
	"github.com/gatehouse-authz/gatehouse/server/gateway"
	"github.com/gatehouse-authz/gatehouse/server/grpcapi"
)

// Decider is the decision core.
type Decider interface {
	Decide(ctx context.Context, req *gatehouse.Request) gatehouse.Decision
}

// Options configure a Server.
type Options struct {
	GRPCAddr, HTTPAddr string
	Decider            Decider
	Logger             *slog.Logger
	// Registry is scraped at /metrics.
	Registry *prometheus.Registry
	// Ready reports whether Gatehouse can decide (issuer keys loaded, policy
	// compiled) and, if not, why.
	Ready func() (bool, string)
	// Routes mounts extra HTTP routes (the /oidc issuer, OAuth flows).
	Routes func(mux *http.ServeMux)
	// ShutdownTimeout bounds the graceful stop.
	ShutdownTimeout time.Duration
	OnPanic         func()
	// ForwardAuthTrustedProxies enables the HTTP forward-auth door
	// (/ext_authz/…, /forward-auth) for these peers; empty: off.
	ForwardAuthTrustedProxies []netip.Prefix
	// Unary and Stream interceptors run after panic recovery, for every gRPC
	// call (the REST gateway dials this same server, so REST calls too).
	Unary  []grpc.UnaryServerInterceptor
	Stream []grpc.StreamServerInterceptor
	// Register adds more gRPC services (AdminService, ...); their names are
	// reported by health like the built-in ones.
	Register func(s *grpc.Server) (services []string)
	// AuthService, when set, serves gatehouse.v1.AuthService instead of the
	// Check-only door (it adds Login, Refresh, Logout, GetProfile).
	AuthService gatehousev1.AuthServiceServer
	// Middleware, when set, wraps the whole HTTP handler (rate limits, CORS).
	Middleware func(http.Handler) http.Handler
	// GatewayMetadata is added to every call the REST gateway makes to the
	// gRPC server (a per-process mark: those calls were limited over HTTP).
	GatewayMetadata map[string]string
	// TrustProxy is TRUST_PROXY: the gateway passes the client IP from one
	// proxy hop of X-Forwarded-For (gateway.ClientIPHeader), as the HTTP
	// middleware counts it.
	TrustProxy bool
}

// Server is a running Gatehouse process.
type Server struct {
	opts     Options
	grpc     *grpc.Server
	http     *http.Server
	health   *drainingHealth
	grpcLis  net.Listener
	httpLis  net.Listener
	gwConn   *grpc.ClientConn
	services []string
	// stopping closes when Run begins its graceful stop.
	stopping chan struct{}
}

// New listens on both addresses and registers every door. Run serves them.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Ready == nil {
		opts.Ready = func() (bool, string) { return true, "" }
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	stopping := make(chan struct{})
	s := &Server{opts: opts, health: &drainingHealth{Server: health.NewServer(), stopping: stopping}, stopping: stopping}
	var err error
	if s.grpcLis, err = net.Listen("tcp", opts.GRPCAddr); err != nil {
		return nil, fmt.Errorf("GRPC_ADDR: listen on %s: %w", opts.GRPCAddr, err)
	}
	if s.httpLis, err = net.Listen("tcp", opts.HTTPAddr); err != nil {
		s.grpcLis.Close()
		return nil, fmt.Errorf("HTTP_ADDR: listen on %s: %w", opts.HTTPAddr, err)
	}

	s.grpc = grpc.NewServer(
		grpc.ChainUnaryInterceptor(append([]grpc.UnaryServerInterceptor{grpcapi.RecoverUnary(opts.Logger, opts.OnPanic)}, opts.Unary...)...),
		grpc.ChainStreamInterceptor(opts.Stream...),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// Write buffers shared between connections: less memory per
		// connection under Envoy's many concurrent calls.
		grpc.SharedWriteBuffer(true),
		// A pool of stream workers whose stacks have already grown: a fresh
		// goroutine per call spent ~12% of the CPU growing its stack
		// (docs/benchmarks.md). The pool is wide, not GOMAXPROCS: with two
		// workers a call waited behind the ones ahead of it and the p99 at
		// a fixed 2,000 req/s went to ~150 ms; grpc-go still starts a
		// goroutine when every worker is busy.
		grpc.NumStreamWorkers(streamWorkers),
	)
	// ext_authz with its own request decoder (server/extauthz/wire.go).
	extauthz.New(opts.Decider).Register(s.grpc)
	var authSvc gatehousev1.AuthServiceServer = grpcapi.NewAuthService(opts.Decider)
	if opts.AuthService != nil {
		authSvc = opts.AuthService
	}
	gatehousev1.RegisterAuthServiceServer(s.grpc, authSvc)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.services = []string{"", "envoy.service.auth.v3.Authorization", "gatehouse.v1.AuthService"}
	if opts.Register != nil {
		s.services = append(s.services, opts.Register(s.grpc)...)
	}
	s.setServing(false)

	// The gateway talks to our own gRPC server, so REST shares its interceptors.
	dialOpts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if len(opts.GatewayMetadata) > 0 {
		var kv []string
		for k, v := range opts.GatewayMetadata {
			kv = append(kv, k, v)
		}
		dialOpts = append(dialOpts, grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, o ...grpc.CallOption) error {
			return invoker(metadata.AppendToOutgoingContext(ctx, kv...), method, req, reply, cc, o...)
		}))
	}
	s.gwConn, err = grpc.NewClient(dialTarget(s.grpcLis.Addr()), dialOpts...)
	if err != nil {
		s.closeListeners()
		return nil, fmt.Errorf("gateway: %w", err)
	}
	gw, err := gateway.New(ctx, s.gwConn, opts.TrustProxy)
	if err != nil {
		s.closeListeners()
		return nil, fmt.Errorf("gateway: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/v1/", limitBody(gw, 1<<20))
	// CheckRequest.body (up to 1 MiB) arrives base64-encoded in the JSON.
	mux.Handle("/v1/check", limitBody(gw, 2<<20))
	// The Controller's user routes (gatehouse.v1.AuthService over the gateway).
	for _, p := range []string{"/api/v3/user/login", "/api/v3/user/refresh", "/api/v3/user/profile"} {
		mux.Handle(p, limitBody(gw, 1<<20))
	}
	mux.Handle("/api/v3/user/logout", authhttp.NoContent(limitBody(gw, 1<<20)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	if opts.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{}))
	}
	if len(opts.ForwardAuthTrustedProxies) > 0 {
		forwardauth.New(opts.Decider, opts.ForwardAuthTrustedProxies).Register(mux)
	}
	if opts.Routes != nil {
		opts.Routes(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		gateway.WriteError(w, http.StatusNotFound, "NotFoundError", "Not found")
	})
	var handler http.Handler = mux
	if opts.Middleware != nil {
		handler = opts.Middleware(mux)
	}
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// GRPCAddr is the address the gRPC listener is bound to.
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// HTTPAddr is the address the HTTP listener is bound to.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// Run serves until ctx ends, then stops gracefully: health turns NOT_SERVING
// at once, listeners close, in-flight requests finish within ShutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve(s.grpcLis) }()
	go func() {
		if err := s.http.Serve(s.httpLis); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
			return
		}
		errc <- nil
	}()
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); s.watchReadiness(watchCtx) }()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.health.Shutdown() // NOT_SERVING for every service, before draining
	close(s.stopping)   // health Watch streams end once they said so
	stopWatch()
	<-watchDone
	s.opts.Logger.Info("shutting down", "timeout", s.opts.ShutdownTimeout.String())

	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- s.http.Shutdown(stopCtx) }()
	grpcDone := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(grpcDone) }()
	select {
	case <-grpcDone:
	case <-stopCtx.Done():
		s.grpc.Stop()
		<-grpcDone
	}
	if err := <-httpDone; err != nil && runErr == nil {
		runErr = fmt.Errorf("http shutdown: %w", err)
	}
	s.gwConn.Close()
	return runErr
}

// watchReadiness keeps gRPC health in step with Ready: polled quickly until
// first ready, then every second.
func (s *Server) watchReadiness(ctx context.Context) {
	serving := false
	interval := 50 * time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, why := s.opts.Ready()
		if ok != serving {
			s.setServing(ok)
			serving = ok
			if ok {
				s.opts.Logger.Info("ready: serving", "grpc", s.GRPCAddr(), "http", s.HTTPAddr())
				interval = time.Second
			} else {
				s.opts.Logger.Warn("not ready", "reason", why)
			}
		}
		t.Reset(interval)
	}
}

func (s *Server) setServing(ok bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if ok {
		st = healthpb.HealthCheckResponse_SERVING
	}
	for _, name := range s.services {
		s.health.SetServingStatus(name, st)
	}
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	if ok, why := s.opts.Ready(); !ok {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": why})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) closeListeners() {
	s.grpcLis.Close()
	s.httpLis.Close()
}

// dialTarget turns a listener address into one a client can dial: a wildcard
// bind is reached over loopback.
func dialTarget(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return "passthrough:///" + net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// streamWorkers is the gRPC server's pool of reusable call goroutines.
const streamWorkers = 64

func limitBody(h http.Handler, n int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}
