package server

import (
	"context"
	"sync"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// drainingHealth is the gRPC health service, except that once the server is
// stopping, each Watch stream ends as soon as it has told its client
// NOT_SERVING. Clients doing gRPC health checking keep a Watch open for
// good; without this, one of them held every graceful stop for the whole
// SHUTDOWN_TIMEOUT.
type drainingHealth struct {
	*health.Server
	stopping <-chan struct{}
}

// Watch serves the standard Watch over a stream that ends after NOT_SERVING
// once stopping is closed.
func (h *drainingHealth) Watch(in *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	w := &drainingWatch{Health_WatchServer: stream, ctx: ctx, cancel: cancel}
	go func() {
		select {
		case <-h.stopping:
			w.stop()
		case <-ctx.Done():
		}
	}()
	return h.Server.Watch(in, w)
}

type drainingWatch struct {
	healthpb.Health_WatchServer
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	notServing bool // the last status sent
	stopping   bool
}

func (w *drainingWatch) Context() context.Context { return w.ctx }

// Send sends a status; NOT_SERVING while stopping ends the stream.
func (w *drainingWatch) Send(m *healthpb.HealthCheckResponse) error {
	err := w.Health_WatchServer.Send(m)
	w.mu.Lock()
	w.notServing = m.GetStatus() != healthpb.HealthCheckResponse_SERVING
	end := w.notServing && w.stopping
	w.mu.Unlock()
	if end {
		w.cancel()
	}
	return err
}

// stop ends the stream now if its client already knows NOT_SERVING, else at
// the next Send (which health.Server.Shutdown causes).
func (w *drainingWatch) stop() {
	w.mu.Lock()
	w.stopping = true
	end := w.notServing
	w.mu.Unlock()
	if end {
		w.cancel()
	}
}
