package config

import (
	"strings"
	"testing"
)

func TestOperations(t *testing.T) {
	c, err := Load(env("CONTROLLER_PUBLIC_URL", "https://gh.example",
		"FORWARD_AUTH_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7,::1, ::ffff:172.16.0.1, ::ffff:100.64.0.0/106",
		"OTEL_EXPORTER_OTLP_ENDPOINT", "otel:4317", "OTEL_TRACES_SAMPLER_ARG", "0.25",
		"PPROF_ADDR", "127.0.0.1:6060", "DECISION_LOG_FILE", "/var/log/gatehouse/decisions.log"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.Ops.ForwardAuthTrustedProxies {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 192.168.1.7/32 ::1/128 172.16.0.1/32 100.64.0.0/10" {
		t.Fatalf("trusted proxies %v", got)
	}
	if !c.Ops.TracingEnabled() || c.Ops.TraceSampleRatio != 0.25 || c.Ops.ServiceName != "gatehouse" || c.Ops.PprofAddr != "127.0.0.1:6060" {
		t.Fatalf("ops %+v", c.Ops)
	}
	d, err := Load(env("CONTROLLER_PUBLIC_URL", "https://gh.example"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Ops.TracingEnabled() || d.Ops.PprofAddr != "" || len(d.Ops.ForwardAuthTrustedProxies) != 0 || d.Ops.DecisionLogFile != "" {
		t.Fatalf("tracing, pprof, forward-auth and the decision file must be off by default: %+v", d.Ops)
	}
}

func TestOperationsRejectBadValues(t *testing.T) {
	for _, tt := range []struct{ name, value string }{
		{"FORWARD_AUTH_TRUSTED_PROXIES", "10.0.0.0/33"},
		{"FORWARD_AUTH_TRUSTED_PROXIES", "proxy.example"},
		{"OTEL_EXPORTER_OTLP_INSECURE", "perhaps"},
		{"OTEL_TRACES_SAMPLER_ARG", "1.5"},
		{"OTEL_TRACES_SAMPLER_ARG", "half"},
		{"PPROF_ADDR", "6060"},
	} {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := Load(env("CONTROLLER_PUBLIC_URL", "https://gh.example", tt.name, tt.value))
			if err == nil || !strings.Contains(err.Error(), tt.name) {
				t.Fatalf("error %v does not name %s", err, tt.name)
			}
		})
	}
}
