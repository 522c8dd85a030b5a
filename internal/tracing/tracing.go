// Package tracing gives each decision an OpenTelemetry span, exported over
// OTLP/gRPC. It is off unless an endpoint is configured, and then wraps the
// decision core; when off nothing is wrapped and the hot path pays nothing.
//
// The span's parent comes from the W3C trace context (traceparent,
// tracestate) in the decided request's headers, so a Check joins the trace
// of the request Envoy is asking about.
package tracing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-authz/gatehouse"
)

// Decider is the decision core.
type Decider interface {
	Decide(ctx context.Context, req *gatehouse.Request) gatehouse.Decision
}

// Options configure the exporter.
type Options struct {
	// Endpoint is the collector: host:port, or an http(s):// URL.
	Endpoint    string
	Insecure    bool
	ServiceName string
	// SampleRatio is the fraction of root decisions traced; a sampled
	// parent in the request headers is always followed.
	SampleRatio float64
	// BatchTimeout bounds how long a span waits before export (default 5s).
	BatchTimeout time.Duration
	Version      string
}

// Tracer owns the tracer provider and its exporter.
type Tracer struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// New connects the OTLP exporter (lazily: an unreachable collector does not
// stop start-up) and returns the tracer.
func New(ctx context.Context, o Options) (*Tracer, error) {
	opts := []otlptracegrpc.Option{}
	if strings.Contains(o.Endpoint, "://") {
		opts = append(opts, otlptracegrpc.WithEndpointURL(o.Endpoint))
	} else {
		opts = append(opts, otlptracegrpc.WithEndpoint(o.Endpoint))
	}
	if o.Insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	if o.ServiceName == "" {
		o.ServiceName = "gatehouse"
	}
	if o.BatchTimeout <= 0 {
		o.BatchTimeout = 5 * time.Second
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(o.ServiceName)}
	if o.Version != "" {
		attrs = append(attrs, semconv.ServiceVersion(o.Version))
	}
	res := resource.NewSchemaless(attrs...)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(o.BatchTimeout)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SampleRatio))),
	)
	return newTracer(tp), nil
}

func newTracer(tp *sdktrace.TracerProvider) *Tracer {
	return &Tracer{
		tp:     tp,
		tracer: tp.Tracer("github.com/gatehouse-authz/gatehouse"),
		prop:   propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
}

// Wrap returns d with a span around every decision.
func (t *Tracer) Wrap(d Decider) Decider { return &traced{next: d, t: t} }

// Shutdown flushes pending spans and closes the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error { return t.tp.Shutdown(ctx) }

type traced struct {
	next Decider
	t    *Tracer
}

// Attribute keys of a decision span.
const (
	AttrAllow      = "gatehouse.decision.allow"
	AttrStatus     = "gatehouse.decision.status"
	AttrReason     = "gatehouse.decision.reason"
	AttrDecisionID = "gatehouse.decision.id"
	AttrKind       = "gatehouse.identity.kind"
	AttrRoute      = "gatehouse.route"
)

func (d *traced) Decide(ctx context.Context, req *gatehouse.Request) gatehouse.Decision {
	ctx = d.t.prop.Extract(ctx, propagation.MapCarrier(req.Headers))
	ctx, span := d.t.tracer.Start(ctx, "gatehouse.Check",
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			semconv.HTTPRequestMethodKey.String(req.Method),
			semconv.URLPath(req.Path), // never the query: it may carry a token
			semconv.ServerAddress(req.Host),
		))
	defer span.End()
	dec := d.next.Decide(ctx, req)
	span.SetAttributes(
		attribute.Bool(AttrAllow, dec.Allow),
		attribute.Int(AttrStatus, dec.Status),
		attribute.String(AttrReason, string(dec.Reason)),
		attribute.String(AttrDecisionID, dec.ID),
		attribute.String(AttrKind, string(dec.Kind)),
		attribute.String(AttrRoute, dec.Route.Template),
	)
	if dec.Status >= 500 {
		span.SetStatus(codes.Error, string(dec.Reason))
	}
	return dec
}
