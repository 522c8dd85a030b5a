// Command loadbench measures Envoy ext_authz Check over gRPC on loopback:
// Gatehouse alone (make bench-load) or Gatehouse and the OPA-Envoy peer in
// the same run (make bench-compare). Run it from the bench/ directory.
//
// Scenarios: a fixed number of requests in flight and a fixed offered rate,
// each with one repeated token and with distinct tokens. Per scenario it
// prints throughput, latency percentiles, errors, the server's CPU per
// decision and its memory.
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
	servers := flag.String("servers", loadkit.NameGatehouse, "comma list: gatehouse, opa-envoy")
	duration := flag.Duration("duration", 10*time.Second, "measured time per scenario")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured warm-up per scenario")
	concurrency := flag.Uint("concurrency", 16, "requests in flight, fixed-concurrency scenarios")
	rate := flag.Uint("rate", 2000, "offered requests/s, fixed-rate scenarios")
	rateWorkers := flag.Uint("rate-workers", 64, "ghz workers for the fixed-rate scenarios (enough that the rate, not the workers, limits)")
	tokens := flag.Int("tokens", 1000, "distinct tokens in the distinct-token scenarios")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, strings.Split(*servers, ","), *duration, *warmup, *concurrency, *rate, *rateWorkers, *tokens); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, names []string, duration, warmup time.Duration, conc, rate, rateWorkers uint, tokens int) error {
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
			if err := loadkit.Preflight(ctx, s, w); err != nil {
				return err
			}
		}
	}

	fmt.Printf("machine: %s\n", loadkit.MachineSummary())
	fmt.Printf("requests: repeated-token %d B; %s %d B mean, %d of %d allowed (users over groups %s)\n",
		repeated.MeanSize(), distinct.Name, distinct.MeanSize(), distinct.Allowed, len(distinct.Payloads), strings.Join(loadkit.Groups, "/"))
	fmt.Printf("each scenario: %s warm-up, %s measured; servers run one at a time, interleaved per scenario\n\n", warmup, duration)

	var scenarios []loadkit.Scenario
	for _, w := range []*loadkit.Workload{repeated, distinct} {
		scenarios = append(scenarios,
			loadkit.Scenario{Name: fmt.Sprintf("c%d/%s", conc, w.Name), Concurrency: conc, Warmup: warmup, Duration: duration, Workload: w},
			loadkit.Scenario{Name: fmt.Sprintf("r%d/%s", rate, w.Name), Concurrency: rateWorkers, RPS: rate, Warmup: warmup, Duration: duration, Workload: w},
		)
	}
	var results []loadkit.Result
	for _, sc := range scenarios {
		for _, s := range env.Servers {
			r, err := loadkit.Run(ctx, s, sc)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "done: %s %s\n", s.Name, sc.Name)
			results = append(results, r)
		}
	}
	printResults(results)
	if len(env.Servers) > 1 {
		printRatios(results, env.Servers[0].Name, env.Servers[1].Name)
	}
	return nil
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
		ra, rb := by[sc][a], by[sc][b]
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
