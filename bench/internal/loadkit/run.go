package loadkit

import (
	"context"
	"fmt"
	"time"

	"github.com/bojand/ghz/runner"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/jhump/protoreflect/desc"
	"github.com/jhump/protoreflect/dynamic"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// CheckMethod is the ext_authz call, in ghz's package.Service.Method form.
const CheckMethod = "envoy.service.auth.v3.Authorization.Check"

// Protoset is the compiled ext_authz service with its imports, taken from the
// go-control-plane types linked into this binary: no .proto files and no
// server reflection needed, and the same descriptors for both servers.
func Protoset() ([]byte, error) {
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	add(authv3.File_envoy_service_auth_v3_external_auth_proto)
	b, err := proto.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("protoset: %w", err)
	}
	return b, nil
}

// Scenario is one load shape: a fixed number of requests in flight, or a
// fixed offered rate (RPS > 0), for Duration after Warmup.
//
// Every ghz run is bounded by a request count, never by a duration: with a
// duration ghz's runner preallocates room for a million results (~80 MB) per
// run, and collecting that garbage competed with the server for the two
// vCPUs and showed up in the server's tail. At a fixed rate the count is
// RPS × Duration; at a fixed concurrency it is the warm-up's throughput ×
// Duration, unless Requests sets it.
type Scenario struct {
	Name        string
	Concurrency uint
	RPS         uint
	Warmup      time.Duration
	Duration    time.Duration
	// Requests, when > 0, is the measured request count instead of one
	// derived from Duration.
	Requests uint
	Workload *Workload
}

// Result is one scenario against one server.
type Result struct {
	Server, Scenario string
	OfferedRPS       uint // 0 for fixed concurrency
	Count            uint64
	Errors           uint64
	RPS              float64
	P50, P90, P99    time.Duration
	ErrorKinds       map[string]int
	CPUPerCall       time.Duration // server utime+stime ÷ answered requests
	RSSKiB, HWMKiB   int64         // server VmRSS at the end, VmHWM during the run
	PeakReset        bool          // false: HWMKiB is since process start
}

// calibrationRequests is the first warm-up batch of a fixed-concurrency
// scenario, whose throughput sizes the next batch.
const calibrationRequests = 1000

// Run warms the server up, then measures one scenario with ghz's runner,
// sampling the server's /proc counters around the measured part only.
func Run(ctx context.Context, srv *Server, sc Scenario) (Result, error) {
	res := Result{Server: srv.Name, Scenario: sc.Name, OfferedRPS: sc.RPS}
	protoset, err := Protoset()
	if err != nil {
		return res, err
	}
	// The load generator shares the two vCPUs with the server, so its own
	// cost per call is kept low: no template data or functions (ghz builds a
	// template with ~200 functions per call otherwise), and every request
	// decoded once and marshalled once, ahead of the run, instead of
	// decoded into a dynamic message and re-marshalled on every call.
	lean, err := LeanOptions(sc.Workload.Payloads)
	if err != nil {
		return res, err
	}
	opts := append([]runner.Option{
		runner.WithProtosetBinary(protoset),
		runner.WithInsecure(true),
		runner.WithConcurrency(sc.Concurrency),
		runner.WithTimeout(5 * time.Second),
	}, lean...)
	if sc.RPS > 0 {
		// Open model: send at the offered rate whether or not earlier calls
		// have returned, so an overloaded server shows up as latency rather
		// than as a silently lower rate.
		opts = append(opts, runner.WithRPS(sc.RPS), runner.WithAsync(true))
	}
	run := func(n uint) (*runner.Report, error) {
		return runner.Run(CheckMethod, srv.GRPCAddr, append(opts, runner.WithTotalRequests(max(n, 1)))...)
	}

	// Warm-up, in batches sized from the throughput seen so far, until
	// Warmup has passed (at most a few batches). Its rate sizes the
	// measured run of a fixed-concurrency scenario.
	rate := float64(sc.RPS)
	if sc.RPS == 0 && (sc.Requests == 0 || sc.Warmup > 0) {
		start := time.Now()
		n := uint(calibrationRequests)
		for i := 0; i < 5; i++ {
			rep, err := run(n)
			if err != nil {
				return res, fmt.Errorf("%s %s warm-up: %w", srv.Name, sc.Name, err)
			}
			if err := ctx.Err(); err != nil {
				return res, err
			}
			if rep.Rps > 0 {
				rate = rep.Rps
			}
			left := sc.Warmup - time.Since(start)
			if left < 100*time.Millisecond || rate == 0 {
				break
			}
			n = uint(rate * left.Seconds())
		}
	} else if sc.Warmup > 0 {
		if _, err := run(uint(float64(sc.RPS) * sc.Warmup.Seconds())); err != nil {
			return res, fmt.Errorf("%s %s warm-up: %w", srv.Name, sc.Name, err)
		}
	}
	measured := sc.Requests
	if measured == 0 {
		measured = uint(rate * sc.Duration.Seconds())
	}

	res.PeakReset = ResetPeak(srv.PID()) == nil
	before, err := SampleProc(srv.PID())
	if err != nil {
		return res, err
	}
	rep, err := run(measured)
	if err != nil {
		return res, fmt.Errorf("%s %s: %w", srv.Name, sc.Name, err)
	}
	after, err := SampleProc(srv.PID())
	if err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.Count, res.RPS = rep.Count, rep.Rps
	res.ErrorKinds = rep.ErrorDist
	res.Errors, res.P50, res.P90, res.P99 = ReadReport(rep)
	if answered := rep.Count - min(res.Errors, rep.Count); answered > 0 {
		res.CPUPerCall = (after.CPU - before.CPU) / time.Duration(answered)
	}
	res.RSSKiB, res.HWMKiB = after.RSSKiB, after.HWMKiB
	return res, nil
}

// ReadReport is what the reports print of a ghz run: errors of every kind
// and the latency percentiles.
func ReadReport(rep *runner.Report) (errors uint64, p50, p90, p99 time.Duration) {
	for _, n := range rep.ErrorDist {
		errors += uint64(n)
	}
	for _, ld := range rep.LatencyDistribution {
		switch ld.Percentage {
		case 50:
			p50 = ld.Latency
		case 90:
			p90 = ld.Latency
		case 99:
			p99 = ld.Latency
		}
	}
	return errors, p50, p90, p99
}

// LeanOptions are ghz options that send payloads (marshalled
// CheckRequests) round-robin with the least work per call: no template data
// or functions, every request decoded and marshalled once, before the run,
// and sent as its bytes.
func LeanOptions(payloads [][]byte) ([]runner.Option, error) {
	gen, err := newLeanRequests(payloads)
	if err != nil {
		return nil, err
	}
	return []runner.Option{
		runner.WithDisableTemplateFuncs(true),
		runner.WithDisableTemplateData(true),
		runner.WithDataProvider(gen.provide),
		runner.WithDefaultCallOptions([]grpc.CallOption{grpc.ForceCodec(gen)}),
	}, nil
}

// leanRequests hands ghz the workload's requests as dynamic messages built
// once, and is the calls' codec: a request is sent as the bytes it was
// built from, so no call marshals anything; responses are decoded as usual.
type leanRequests struct {
	msgs [][]*dynamic.Message
	wire map[*dynamic.Message][]byte
}

func newLeanRequests(payloads [][]byte) (*leanRequests, error) {
	md, err := desc.LoadMessageDescriptorForMessage(&authv3.CheckRequest{})
	if err != nil {
		return nil, fmt.Errorf("request descriptor: %w", err)
	}
	l := &leanRequests{wire: make(map[*dynamic.Message][]byte, len(payloads))}
	for _, p := range payloads {
		m := dynamic.NewMessage(md)
		if err := m.Unmarshal(p); err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
		l.msgs = append(l.msgs, []*dynamic.Message{m})
		l.wire[m] = p
	}
	return l, nil
}

func (l *leanRequests) provide(cd *runner.CallData) ([]*dynamic.Message, error) {
	return l.msgs[int(cd.RequestNumber)%len(l.msgs)], nil
}

func (l *leanRequests) Marshal(v any) ([]byte, error) {
	if m, ok := v.(*dynamic.Message); ok {
		if b, ok := l.wire[m]; ok {
			return b, nil
		}
	}
	return nil, fmt.Errorf("loadkit: %T is not a prepared request", v)
}

func (l *leanRequests) Unmarshal(data []byte, v any) error {
	m, ok := v.(*dynamic.Message)
	if !ok {
		return fmt.Errorf("loadkit: cannot decode into %T", v)
	}
	return m.Unmarshal(data)
}

// Name is "proto": the content-subtype servers expect.
func (l *leanRequests) Name() string { return "proto" }
