package tracing

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse-authz/gatehouse"
)

type fixed gatehouse.Decision

func (f fixed) Decide(context.Context, *gatehouse.Request) gatehouse.Decision {
	return gatehouse.Decision(f)
}

func TestSpanPerDecision(t *testing.T) {
	tests := []struct {
		name    string
		d       gatehouse.Decision
		headers map[string]string
		parent  string
		errored bool
	}{
		{"allow joins the request's trace", gatehouse.Decision{Allow: true, Status: 200, Reason: "PERMITTED", ID: "d1", Kind: "user"},
			map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "4bf92f3577b34da6a3ce929d0e0e4736", false},
		{"deny without a parent starts a trace", gatehouse.Decision{Status: 403, Reason: "PERMISSION_DENIED", ID: "d2"}, nil, "", false},
		{"failure to decide is an error span", gatehouse.Decision{Status: 503, Reason: "POLICY_ERROR", ID: "d3"}, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tr := newTracer(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
			req := &gatehouse.Request{Method: "GET", Path: "/api/v3/x", Query: "token=secret", Host: "h", Headers: tt.headers}
			got := tr.Wrap(fixed(tt.d)).Decide(context.Background(), req)
			if got.ID != tt.d.ID {
				t.Fatalf("the wrapper changed the decision: %+v", got)
			}
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans", len(spans))
			}
			s := spans[0]
			if tt.parent != "" && s.SpanContext.TraceID().String() != tt.parent {
				t.Errorf("trace %s, want %s", s.SpanContext.TraceID(), tt.parent)
			}
			attrs := map[string]string{}
			for _, kv := range s.Attributes {
				attrs[string(kv.Key)] = kv.Value.Emit()
			}
			if attrs[AttrDecisionID] != tt.d.ID || attrs[AttrReason] != string(tt.d.Reason) || attrs["url.path"] != "/api/v3/x" {
				t.Errorf("attributes %v", attrs)
			}
			for k, v := range attrs {
				if v == "token=secret" || k == "url.query" {
					t.Errorf("the query reached the span: %s=%s", k, v)
				}
			}
			if (s.Status.Code == codes.Error) != tt.errored {
				t.Errorf("status %v", s.Status)
			}
		})
	}
}
