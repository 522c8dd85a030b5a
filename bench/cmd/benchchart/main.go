// Command benchchart sweeps fixed offered rates against Gatehouse and the
// OPA-Envoy peer and draws p99 latency against offered load as a PNG
// (make bench-chart writes docs/bench-p99.png). Run it from bench/.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/gatehouse-authz/gatehouse/bench/internal/loadkit"
)

func main() {
	out := flag.String("out", "../docs/bench-p99.png", "PNG to write")
	servers := flag.String("servers", loadkit.NameGatehouse+","+loadkit.NameGatehouseCold+","+loadkit.NameOPAEnvoy,
		"comma list: gatehouse, gatehouse-cold (identity cache of one: every token new; skipped with -tokens 0), opa-envoy")
	rates := flag.String("rates", "500,1000,2000,3000,4000", "offered requests/s, comma list")
	duration := flag.Duration("duration", 5*time.Second, "measured time per rate")
	warmup := flag.Duration("warmup", time.Second, "unmeasured warm-up per rate")
	workers := flag.Uint("rate-workers", 64, "ghz workers")
	tokens := flag.Int("tokens", 1000, "distinct tokens (0: one repeated token)")
	flag.Parse()
	loadkit.HoldGeneratorGC()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, strings.Split(*servers, ","), *rates, *duration, *warmup, *workers, *tokens); err != nil {
		fmt.Fprintln(os.Stderr, "benchchart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out string, names []string, rateList string, duration, warmup time.Duration, workers uint, tokens int) error {
	var rates []uint
	for _, f := range strings.Split(rateList, ",") {
		r, err := strconv.ParseUint(strings.TrimSpace(f), 10, 32)
		if err != nil || r == 0 {
			return fmt.Errorf("rate %q: want a positive integer", f)
		}
		rates = append(rates, uint(r))
	}
	if tokens <= 0 {
		names = slices.DeleteFunc(names, func(n string) bool { return n == loadkit.NameGatehouseCold })
	}
	env, err := loadkit.Setup(ctx, names)
	if err != nil {
		return err
	}
	defer env.Close()

	var w *loadkit.Workload
	if tokens > 0 {
		w, err = loadkit.DistinctTokens(env.Minter, tokens, time.Now())
	} else {
		w, err = loadkit.RepeatedToken(env.Minter, time.Now())
	}
	if err != nil {
		return err
	}
	for _, s := range env.Servers {
		if err := loadkit.Preflight(ctx, s, w); err != nil {
			return err
		}
	}

	machine := loadkit.MachineSummary()
	fmt.Printf("machine: %s\nworkload: %s (%d B mean); %s warm-up + %s per rate\n\n", machine, w.Name, w.MeanSize(), warmup, duration)
	results := map[string][]loadkit.Result{}
	for _, rate := range rates {
		for _, s := range env.Servers {
			sc := loadkit.Scenario{Name: fmt.Sprintf("r%d/%s", rate, w.Name), Concurrency: workers, RPS: rate,
				Warmup: warmup, Duration: duration, Workload: w}
			if err := loadkit.WaitIdle(ctx, env.Servers); err != nil {
				return err
			}
			r, err := loadkit.Run(ctx, s, sc)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "done: %s %s\n", s.Name, sc.Name)
			results[s.Name] = append(results[s.Name], r)
		}
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\toffered req/s\tachieved req/s\tp50\tp99\terrors\tCPU/decision\t")
	for _, s := range env.Servers {
		for _, r := range results[s.Name] {
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f ms\t%.2f ms\t%d\t%.0f µs\t\n", r.Server, r.OfferedRPS, r.RPS,
				msf(r.P50), msf(r.P99), r.Errors, float64(r.CPUPerCall)/float64(time.Microsecond))
		}
	}
	tw.Flush()
	if err := draw(out, machine, w.Name, env.Servers, results); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s\n", out)
	return nil
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// draw plots p99 on a log axis: past saturation an open-model load makes
// latency grow by orders of magnitude, and the knee is what matters.
func draw(out, machine, workload string, servers []*loadkit.Server, results map[string][]loadkit.Result) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("ext_authz Check over gRPC, %s: p99 vs offered load\n%s", workload, machine)
	p.X.Label.Text = "offered load (requests/s, fixed rate)"
	p.Y.Label.Text = "p99 latency (ms, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(8)
	for i, s := range servers {
		var xys plotter.XYs
		for _, r := range results[s.Name] {
			// A log axis cannot show zero; a sub-microsecond p99 does not occur.
			xys = append(xys, plotter.XY{X: float64(r.OfferedRPS), Y: max(msf(r.P99), 0.001)})
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("plot %s: %w", s.Name, err)
		}
		line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
		points.Shape = plotutil.Shape(i)
		line.Width = vg.Points(1.5)
		p.Add(line, points)
		p.Legend.Add(s.Name, line, points)
	}
	if err := p.Save(8*vg.Inch, 5*vg.Inch, out); err != nil {
		return fmt.Errorf("save %s: %w", out, err)
	}
	return nil
}
