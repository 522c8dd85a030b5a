package loadkit

import (
	"context"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// recordingAuthz is an ext_authz server that allows everything and keeps
// what it was sent.
type recordingAuthz struct {
	authv3.UnimplementedAuthorizationServer
	mu   sync.Mutex
	seen []*authv3.CheckRequest
}

func (r *recordingAuthz) Check(_ context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, req)
	return &authv3.CheckResponse{Status: &status.Status{}}, nil
}

// TestRunSendsTheWorkload: the lean generator (requests marshalled once,
// sent as their bytes) delivers exactly the workload's requests, every one
// of them, and counts every call.
func TestRunSendsTheWorkload(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	rec := &recordingAuthz{}
	authv3.RegisterAuthorizationServer(gs, rec)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	w := &Workload{Name: "paths"}
	var want []*authv3.CheckRequest
	for i, path := range []string{"/a", "/b", "/c", "/d", "/e"} {
		req := CheckRequest(Call{Method: "GET", Path: path, Token: "token-" + path}, i)
		b, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		w.Payloads = append(w.Payloads, b)
		want = append(want, req)
	}
	self, err := os.FindProcess(os.Getpid()) // /proc sampling needs a live pid
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Name: "recorder", GRPCAddr: lis.Addr().String(), cmd: &exec.Cmd{Process: self}}

	const n = 50
	res, err := Run(context.Background(), srv, Scenario{Name: "c2", Concurrency: 2, Requests: n, Workload: w})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count != n || res.Errors != 0 {
		t.Fatalf("count %d, errors %d (%v); want %d, 0", res.Count, res.Errors, res.ErrorKinds, n)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) != n {
		t.Fatalf("server saw %d calls, want %d", len(rec.seen), n)
	}
	hits := make([]int, len(want))
	for _, got := range rec.seen {
		i := -1
		for j, wr := range want {
			if proto.Equal(got, wr) {
				i = j
			}
		}
		if i < 0 {
			t.Fatalf("server got a request that is not in the workload: %v", got)
		}
		hits[i]++
	}
	for i, h := range hits {
		if h != n/len(want) {
			t.Errorf("request %d sent %d times, want %d (round-robin)", i, h, n/len(want))
		}
	}
}

// TestWaitIdleWaitsForABusyServer: WaitIdle returns only once the server
// has stopped working (here this test process, busy for a while).
func TestWaitIdleWaitsForABusyServer(t *testing.T) {
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Name: "self", cmd: &exec.Cmd{Process: self}}
	var stopped atomic.Bool
	go func() {
		end := time.Now().Add(time.Second)
		for x := 0; time.Now().Before(end); x++ {
			_ = x * x // burn CPU
		}
		stopped.Store(true)
	}()
	if err := WaitIdle(t.Context(), []*Server{srv}); err != nil {
		t.Fatal(err)
	}
	if !stopped.Load() {
		t.Fatal("WaitIdle returned while the server was busy")
	}
}
