package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// PGCluster is a throwaway PostgreSQL cluster a test owns: initialised in a
// temporary directory, listening on a free loopback port, stopped and started
// with pg_ctl so the test can take the database away and bring it back. It is
// never the shared server at :5432 other tests use.
type PGCluster struct {
	t    testing.TB
	dir  string // owned by the server's user; holds data/, the log and the socket
	port int
	bin  string // directory of initdb and pg_ctl
	// asUser is "postgres" when the test runs as root (initdb refuses root).
	asUser string

	mu      sync.Mutex
	running bool
}

// pgBinDir finds the directory holding initdb and pg_ctl.
func pgBinDir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("pg_ctl not found (pg_config --bindir, /usr/lib/postgresql/*/bin, PATH)")
}

// NewPGCluster initialises and starts a cluster, stopped and removed when the
// test ends. Without PostgreSQL's server binaries the test is skipped (one
// line), or fails when CI=true.
func NewPGCluster(t testing.TB) *PGCluster {
	t.Helper()
	bin, err := pgBinDir()
	RequireServer(t, "PostgreSQL server binaries (initdb, pg_ctl)", err)
	c := &PGCluster{t: t, bin: bin}
	if os.Geteuid() == 0 {
		c.asUser = "postgres"
	}
	c.dir, err = os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(c.dir) })
	if c.asUser != "" {
		u, err := user.Lookup(c.asUser)
		RequireServer(t, "the postgres system user (initdb refuses root)", err)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.run(2*time.Minute, filepath.Join(bin, "initdb"), "-D", c.data(), "-A", "trust", "-U", "postgres",
		"--no-sync", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		RequireServer(t, "initdb of a throwaway cluster", fmt.Errorf("%v: %s", err, out))
	}
	c.port = freePort(t)
	t.Cleanup(func() { c.stop("immediate") })
	c.Start()
	return c
}

func (c *PGCluster) data() string { return filepath.Join(c.dir, "data") }

// run runs a PostgreSQL binary, as the postgres user when we are root.
func (c *PGCluster) run(timeout time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if c.asUser != "" {
		args = append([]string{"-u", c.asUser, "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Addr is the server's host:port.
func (c *PGCluster) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)) }

// DSN connects to the cluster's postgres database as postgres, over TCP.
func (c *PGCluster) DSN() string {
	return "postgres://postgres@" + c.Addr() + "/postgres?sslmode=disable&connect_timeout=5"
}

// Start starts the server (again) and waits until it accepts connections.
func (c *PGCluster) Start() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=50", c.port, c.dir)
	if out, err := c.run(2*time.Minute, filepath.Join(c.bin, "pg_ctl"), "-D", c.data(), "-l", filepath.Join(c.dir, "log"),
		"-w", "-t", "90", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("pg_ctl start: %v: %s\nserver log:\n%s", err, out, log)
	}
	c.running = true
}

// Stop stops the server the fast way (connections are closed, sessions
// ended); StopImmediate stops it the way a crash would.
func (c *PGCluster) Stop() {
	c.t.Helper()
	if err := c.stop("fast"); err != nil {
		c.t.Fatal(err)
	}
}

// StopImmediate stops the server without a clean shutdown (recovery on the
// next start), as a crash or a killed host would.
func (c *PGCluster) StopImmediate() {
	c.t.Helper()
	if err := c.stop("immediate"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *PGCluster) stop(mode string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	out, err := c.run(2*time.Minute, filepath.Join(c.bin, "pg_ctl"), "-D", c.data(), "-m", mode, "-w", "-t", "90", "stop")
	if err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %v: %s", mode, err, out)
	}
	c.running = false
	return nil
}
