package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"regexp"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/logbuf"
	"github.com/gatehouse-authz/gatehouse/internal/tracing"
	"github.com/gatehouse-authz/gatehouse/server"
)

// ops holds the optional operational parts: tracing, pprof and the
// decision log file. Each is nil when not configured.
type ops struct {
	tracer  *tracing.Tracer
	pprof   *http.Server
	pprofLn net.Listener
	logFile *os.File
	logBuf  *logbuf.Writer // batches DECISION_LOG_FILE's lines
}

// decisionLogger is where decision lines go: the process log, or
// DECISION_LOG_FILE (a file, or stdout) as JSON lines with credentials
// masked.
func (a *App) decisionLogger(log *slog.Logger) (*slog.Logger, error) {
	path := a.cfg.Ops.DecisionLogFile
	if path == "" {
		return log, nil
	}
	var out io.Writer = os.Stdout
	if path != "stdout" && path != "-" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("DECISION_LOG_FILE: %w", err)
		}
		a.ops.logFile, out = f, f
	}
	a.ops.logBuf = logbuf.New(out, LogFlushInterval, LogBufferBytes)
	h := slog.NewJSONHandler(a.ops.logBuf, &slog.HandlerOptions{Level: a.cfg.LogLevel, ReplaceAttr: maskAttr})
	return slog.New(logbuf.Handler(h, a.ops.logBuf)), nil
}

// How decision and process log lines are batched (internal/logbuf): at
// most this long, or this many bytes, before they are written.
const (
	LogFlushInterval = 100 * time.Millisecond
	LogBufferBytes   = 64 << 10
)

var (
	// credentialPattern finds an authorization scheme and its credential.
	credentialPattern = regexp.MustCompile(`(?i)\b(bearer|basic|token|digest)\s+[A-Za-z0-9._~+/=-]+`)
	// jwtPattern finds a bare JWT (header.payload.signature).
	jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
)

// maskAttr masks credentials in string attributes of a decision line. The
// decision core never logs one on purpose; this catches one quoted in an
// error detail.
func maskAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindString {
		return a
	}
	if s := MaskCredentials(a.Value.String()); s != a.Value.String() {
		return slog.String(a.Key, s)
	}
	return a
}

// MaskCredentials replaces credentials (an authorization scheme's value, a
// bare JWT) in s with "****".
func MaskCredentials(s string) string {
	s = credentialPattern.ReplaceAllString(s, "$1 ****")
	return jwtPattern.ReplaceAllString(s, "****")
}

// served is the decider the doors call: the core, or the core inside a
// tracing span when OTEL_EXPORTER_OTLP_ENDPOINT is set. When tracing is off
// the core is handed over as is.
func (a *App) served(ctx context.Context) (server.Decider, error) {
	if !a.cfg.Ops.TracingEnabled() {
		return a.decider, nil
	}
	t, err := tracing.New(ctx, tracing.Options{
		Endpoint:    a.cfg.Ops.OTLPEndpoint,
		Insecure:    a.cfg.Ops.OTLPInsecure,
		ServiceName: a.cfg.Ops.ServiceName,
		SampleRatio: a.cfg.Ops.TraceSampleRatio,
	})
	if err != nil {
		return nil, err
	}
	a.ops.tracer = t
	return t.Wrap(a.decider), nil
}

// listenPprof binds PPROF_ADDR, a listener of its own so profiles are never
// reachable through the service ports.
func (a *App) listenPprof() error {
	if a.cfg.Ops.PprofAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.Ops.PprofAddr)
	if err != nil {
		return fmt.Errorf("PPROF_ADDR: listen on %s: %w", a.cfg.Ops.PprofAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	a.ops.pprofLn = ln
	a.ops.pprof = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return nil
}

// runOps serves pprof until ctx ends.
func (a *App) runOps(ctx context.Context) {
	if a.ops.pprof == nil {
		return
	}
	go func() {
		if err := a.ops.pprof.Serve(a.ops.pprofLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("pprof listener stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		a.ops.pprof.Close()
	}()
}

// closeOps flushes spans and closes the pprof listener and the log file.
func (a *App) closeOps(ctx context.Context) {
	if a.ops.tracer != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := a.ops.tracer.Shutdown(sctx); err != nil {
			a.log.Warn("flushing spans", "err", err)
		}
		cancel()
	}
	if a.ops.pprof != nil {
		a.ops.pprof.Close()
	}
	if a.ops.logBuf != nil {
		_ = a.ops.logBuf.Close()
	}
	if a.ops.logFile != nil {
		a.ops.logFile.Close()
	}
}

// PprofAddr is the bound pprof address, or "" when PPROF_ADDR is unset.
func (a *App) PprofAddr() string {
	if a.ops.pprofLn == nil {
		return ""
	}
	return a.ops.pprofLn.Addr().String()
}

// ServedDecider is the decider the doors call (the core itself unless
// tracing wraps it).
func (a *App) ServedDecider() server.Decider { return a.doorDecider }
