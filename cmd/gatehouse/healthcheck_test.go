package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.Write([]byte(`{"status":"ok"}`))
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"not ready"}`))
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))

	// A listener that is closed at once: nothing answers on its port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	tests := []struct {
		name   string
		vars   map[string]string
		args   []string
		code   int
		output string
	}{
		{"healthz from HTTP_ADDR's port", map[string]string{"HTTP_ADDR": ":" + port}, nil, 0, "ok http://127.0.0.1:" + port + "/healthz"},
		{"a named host is probed, not 127.0.0.1", map[string]string{"HTTP_ADDR": "localhost:" + port}, nil, 0, "ok http://localhost:" + port + "/healthz"},
		{"readyz not ready fails", map[string]string{"HTTP_ADDR": ":" + port}, []string{"--ready"}, exitFailure, "status 503"},
		{"explicit URL", nil, []string{"--url", srv.URL + "/healthz"}, 0, "ok"},
		{"nothing listening fails", nil, []string{"--url", "http://" + closed + "/healthz"}, exitFailure, "probe"},
		{"bad HTTP_ADDR names the variable", map[string]string{"HTTP_ADDR": "nonsense"}, nil, exitFailure, "HTTP_ADDR"},
		{"stray argument", nil, []string{"extra"}, exitUsage, "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runWith(t, tt.vars, append([]string{"healthcheck"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out+errs, tt.output) {
				t.Fatalf("code %d stdout %q stderr %q", code, out, errs)
			}
		})
	}
}
