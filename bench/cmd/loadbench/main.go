// Command loadbench measures Envoy ext_authz Check over gRPC on loopback:
// Gatehouse alone (make bench-load) or Gatehouse and the OPA-Envoy peer in
// the same run (make bench-compare). Run it from the bench/ directory.
//
// Scenarios: a fixed number of requests in flight and a fixed offered rate,
// each with one repeated token and with distinct tokens. Per scenario it
// prints throughput, latency percentiles, errors, the server's CPU per
// decision and its memory. The server gatehouse-cold (IDENTITY_CACHE_SIZE=1)
// runs the distinct-token scenarios only: every call there verifies a token
// it has not cached, the "every token new" line.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-authz/gatehouse/bench/internal/loadkit"
)

func main() {
	servers := flag.String("servers", loadkit.NameGatehouse+","+loadkit.NameGatehouseCold, "comma list: gatehouse, gatehouse-cold (identity cache of one: every token new), opa-envoy")
	duration := flag.Duration("duration", 10*time.Second, "measured time per scenario: sets the request count (rate × duration; at fixed concurrency the warm-up's throughput × duration)")
	requests := flag.Uint("requests", 0, "measured requests per scenario instead of -duration (0: from -duration)")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured warm-up per scenario")
	concurrency := flag.Uint("concurrency", 16, "requests in flight, fixed-concurrency scenarios")
	rate := flag.Uint("rate", 2000, "offered requests/s, fixed-rate scenarios")
	rateWorkers := flag.Uint("rate-workers", 64, "ghz workers for the fixed-rate scenarios (enough that the rate, not the workers, limits)")
	tokens := flag.Int("tokens", 1000, "distinct tokens in the distinct-token scenarios")
	flag.Parse()
	loadkit.HoldGeneratorGC()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, strings.Split(*servers, ","), *duration, *warmup, *requests, *concurrency, *rate, *rateWorkers, *tokens); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, names []string, duration, warmup time.Duration, requests, conc, rate, rateWorkers uint, tokens int) error {
	env, err := loadkit.Setup(ctx, names)
	if err != nil {
		return err
	}
	defer env.Close()

	// Tokens live two hours: long enough for any run, and all minted now.
	now := time.Now()
	repeated, err := loadkit.RepeatedToken(env.Minter, now)
	if err != nil {
		return err
	}
	distinct, err := loadkit.DistinctTokens(env.Minter, tokens, now)
	if err != nil {
		return err
	}
	for _, s := range env.Servers {
		for _, w := range []*loadkit.Workload{repeated, distinct} {
			if !runs(s.Name, w, repeated) {
				continue
			}
			if err := loadkit.Preflight(ctx, s, w); err != nil {
				return err
			}
		}
	}

	fmt.Printf("machine: %s\n", loadkit.MachineSummary())
	fmt.Printf("requests: repeated-token %d B; %s %d B mean, %d of %d allowed (users over groups %s)\n",
		repeated.MeanSize(), distinct.Name, distinct.MeanSize(), distinct.Allowed, len(distinct.Payloads), strings.Join(loadkit.Groups, "/"))
	measured := duration.String()
	if requests > 0 {
		measured = fmt.Sprintf("%d requests", requests)
	}
	fmt.Printf("each scenario: %s warm-up, %s measured; servers run one at a time, interleaved per scenario\n", warmup, measured)
	for _, s := range env.Servers {
		if s.Name == loadkit.NameGatehouseCold {
			fmt.Printf("%s: IDENTITY_CACHE_SIZE=1, distinct tokens only: every token new, a signature verification per call\n", s.Name)
		}
	}
	fmt.Println()

	var scenarios []loadkit.Scenario
	for _, w := range []*loadkit.Workload{repeated, distinct} {
		scenarios = append(scenarios,
			loadkit.Scenario{Name: fmt.Sprintf("c%d/%s", conc, w.Name), Concurrency: conc, Warmup: warmup, Duration: duration, Requests: requests, Workload: w},
			loadkit.Scenario{Name: fmt.Sprintf("r%d/%s", rate, w.Name), Concurrency: rateWorkers, RPS: rate, Warmup: warmup, Duration: duration, Requests: requests, Workload: w},
		)
	}
	var results []loadkit.Result
	for _, sc := range scenarios {
		for _, s := range env.Servers {
			if !runs(s.Name, sc.Workload, repeated) {
				continue
			}
			if err := loadkit.WaitIdle(ctx, env.Servers); err != nil {
				return err
			}
			r, err := loadkit.Run(ctx, s, sc)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "done: %s %s\n", s.Name, sc.Name)
			results = append(results, r)
		}
	}
	printResults(results)
	printTargets(results, rate)
	for _, s := range env.Servers {
		if s.Name == loadkit.NameOPAEnvoy {
			for _, g := range env.Servers {
				if loadkit.IsGatehouse(g.Name) {
					printRatios(results, g.Name, s.Name)
				}
			}
		}
	}
	return nil
}

// printTargets checks Gatehouse's lines against the targets of issue 3 (on
// the reference machine; elsewhere they are indicative): CPU per decision
// closed-loop, p99 and errors at the fixed rate, peak RSS.
func printTargets(rs []loadkit.Result, rate uint) {
	type check struct {
		what string
		ok   bool
	}
	var checks []check
	for _, r := range rs {
		if !loadkit.IsGatehouse(r.Server) {
			continue
		}
		line := r.Server + " " + r.Scenario
		closed := r.OfferedRPS == 0
		switch {
		case closed && r.Server == loadkit.NameGatehouseCold:
			checks = append(checks, check{fmt.Sprintf("%s: every token new, CPU/decision %.0f µs ≤ 130 µs", line, us(r.CPUPerCall)), r.CPUPerCall <= 130*time.Microsecond})
		case closed && strings.HasSuffix(r.Scenario, "/repeated-token"):
			checks = append(checks, check{fmt.Sprintf("%s: repeated token, CPU/decision %.0f µs ≤ 90 µs", line, us(r.CPUPerCall)), r.CPUPerCall <= 90*time.Microsecond})
		case r.OfferedRPS > 0 && rate == 2000:
			checks = append(checks, check{fmt.Sprintf("%s: fixed 2,000 req/s, p99 %s ≤ 5 ms, %d errors", line, ms(r.P99), r.Errors),
				r.P99 <= 5*time.Millisecond && r.Errors == 0})
		}
		checks = append(checks, check{fmt.Sprintf("%s: RSS peak %.1f MiB ≤ 80 MiB", line, mib(r.HWMKiB)), mib(r.HWMKiB) <= 80})
	}
	if len(checks) == 0 {
		return
	}
	fmt.Println("\ntargets (issue 3; meaningful only on a quiet machine and a run of several seconds):")
	for _, c := range checks {
		mark := "met   "
		if !c.ok {
			mark = "MISSED"
		}
		fmt.Printf("  %s %s\n", mark, c.what)
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// runs reports whether server s runs workload w: the cold Gatehouse only
// the distinct tokens (one repeated token fits its cache of one).
func runs(s string, w, repeated *loadkit.Workload) bool {
	return s != loadkit.NameGatehouseCold || w != repeated
}

func printResults(rs []loadkit.Result) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tscenario\treq/s\tp50\tp90\tp99\terrors\tCPU/decision\tRSS end\tRSS peak\t")
	for _, r := range rs {
		peak := fmt.Sprintf("%.1f MiB", mib(r.HWMKiB))
		if !r.PeakReset {
			peak += "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%d\t%.0f µs\t%.1f MiB\t%s\t\n",
			r.Server, r.Scenario, r.RPS, ms(r.P50), ms(r.P90), ms(r.P99), r.Errors,
			float64(r.CPUPerCall)/float64(time.Microsecond), mib(r.RSSKiB), peak)
	}
	tw.Flush()
	for _, r := range rs {
		for kind, n := range r.ErrorKinds {
			fmt.Printf("errors %s %s: %d × %s\n", r.Server, r.Scenario, n, kind)
		}
	}
	for _, r := range rs {
		if !r.PeakReset {
			fmt.Println("* peak since process start: /proc/<pid>/clear_refs could not be written")
			break
		}
	}
}

// printRatios compares a with b per scenario: throughput a/b (higher is
// better for a), p99 and CPU per decision a/b (lower is better for a).
func printRatios(rs []loadkit.Result, a, b string) {
	by := map[string]map[string]loadkit.Result{}
	var order []string
	for _, r := range rs {
		if by[r.Scenario] == nil {
			by[r.Scenario] = map[string]loadkit.Result{}
			order = append(order, r.Scenario)
		}
		by[r.Scenario][r.Server] = r
	}
	fmt.Printf("\n%s vs %s (throughput: >1 is %s faster; p99 and CPU/decision: <1 is %s better)\n", a, b, a, a)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tthroughput\tp99\tCPU/decision\t")
	for _, sc := range order {
		ra, oka := by[sc][a]
		rb, okb := by[sc][b]
		if !oka || !okb {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", sc, ratio(ra.RPS, rb.RPS), ratio(float64(ra.P99), float64(rb.P99)),
			ratio(float64(ra.CPUPerCall), float64(rb.CPUPerCall)))
	}
	tw.Flush()
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mib(kib int64) float64 { return float64(kib) / 1024 }
