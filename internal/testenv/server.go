package testenv

import (
	"context"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// CI reports whether the tests run in continuous integration (CI=true), where
// every external server a test needs must be present.
func CI() bool {
	return strings.EqualFold(os.Getenv("CI"), "true")
}

// RequireServer applies the project's rule for tests that need an external
// server: when err says the server (named by what, e.g. "PostgreSQL at
// 127.0.0.1:5432") is unavailable, the test is skipped with one line, unless
// CI=true, where it fails. A nil err means the server is there: it returns.
func RequireServer(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if CI() {
		t.Fatalf("%s is required (CI=true) but unavailable: %v", what, err)
		return
	}
	t.Skipf("skipping: %s unavailable: %v", what, err)
}

// RequireTCP dials addr (host:port) with a short timeout and applies
// RequireServer to the result.
func RequireTCP(t testing.TB, what, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		_ = conn.Close()
	}
	RequireServer(t, what, err)
}

// DefaultPostgresDSN is the test database on the project's machines.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresDSN returns the DSN of the test PostgreSQL server
// (GATEHOUSE_TEST_DATABASE_URL, else DefaultPostgresDSN) after checking that
// its address accepts connections, under the RequireServer rule.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("GATEHOUSE_TEST_DATABASE_URL")
	if dsn == "" {
		dsn = DefaultPostgresDSN
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_DATABASE_URL is not a URL: %v", err)
	}
	host := u.Host
	if host == "" {
		host = "127.0.0.1:5432"
	} else if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	RequireTCP(t, "PostgreSQL at "+host, host)
	return dsn
}

// Listen returns a TCP listener on 127.0.0.1 with a free port, closed when
// the test ends. Tests never listen on other interfaces.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}
