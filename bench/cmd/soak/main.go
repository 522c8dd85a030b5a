// Command soak holds promises 5 and 6 of docs/reliability.md (make soak):
// a sustained ext_authz load at a fixed offered rate, a mix of valid,
// invalid and missing credentials of every kind (Basic kept rare: argon2id is
// slow by design), for a bounded duration; then an attack of distinct invalid
// tokens. It prints, per time window, throughput, p50/p99, errors and the
// server's RSS, the RSS drift of the soak and the RSS growth of the attack,
// as Markdown tables, and draws RSS and p99 over time into a PNG. Run it from
// the bench/ directory after `make bench-tools`.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"github.com/bojand/ghz/runner"
	"github.com/jhump/protoreflect/desc"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-authz/gatehouse/bench/internal/loadkit"
)

func main() {
	duration := flag.Duration("duration", envDuration("SOAK_DURATION", 10*time.Minute), "sustained-load phase (promise 5); SOAK_DURATION")
	rate := flag.Uint("rate", 2000, "offered Checks/s during the sustained load")
	window := flag.Duration("window", 0, "report window (default: a tenth of each phase, at least 5s)")
	attackDuration := flag.Duration("attack-duration", envDuration("SOAK_ATTACK_DURATION", 5*time.Minute), "attack phase (promise 6); 0 skips it; SOAK_ATTACK_DURATION")
	attackTokens := flag.Uint("attack-tokens", 1_000_000, "distinct invalid tokens sent during the attack phase")
	basicPermille := flag.Int("basic-permille", 15, "Basic credentials per 1000 requests of the mix (at most 20)")
	workers := flag.Uint("workers", 64, "ghz workers (enough that the rate, not the workers, limits)")
	png := flag.String("png", "", "write RSS and p99 over time to this PNG")
	flag.Parse()
	loadkit.HoldGeneratorGC()
	if *basicPermille < 0 || *basicPermille > 20 {
		fmt.Fprintln(os.Stderr, "soak: -basic-permille must be within [0, 20] (Basic at most 2% of the mix)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := config{duration: *duration, rate: *rate, window: *window, attackDuration: *attackDuration,
		attackTokens: *attackTokens, basicPermille: *basicPermille, workers: *workers, png: *png}
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			fmt.Fprintf(os.Stderr, "soak: %s=%q is not a duration\n", name, v)
			os.Exit(2)
		}
		return d
	}
	return def
}

type config struct {
	duration, window, attackDuration time.Duration
	rate, attackTokens, workers      uint
	basicPermille                    int
	png                              string
}

// sample is one report window.
type sample struct {
	phase    string
	at       time.Duration // end of the window since the first one started
	rps      float64
	count    uint64
	errors   uint64
	p50, p99 time.Duration
	rssKiB   int64
	kinds    map[string]int
}

func run(ctx context.Context, cfg config) error {
	bin := loadkit.GatehouseBin
	if p := os.Getenv("GATEHOUSE_BIN"); p != "" {
		bin = p
	}
	if err := loadkit.Binary(bin); err != nil {
		return fmt.Errorf("%w (run `make bench-tools`)", err)
	}
	dir, err := os.MkdirTemp("", "gatehouse-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	minter, err := loadkit.NewMinter(dir)
	if err != nil {
		return err
	}
	creds, err := provision(bin, dir)
	if err != nil {
		return err
	}
	srv, err := loadkit.StartGatehouse(ctx, bin, dir)
	if err != nil {
		return err
	}
	defer srv.Stop()

	mix, err := buildMix(minter, creds, cfg.basicPermille)
	if err != nil {
		return err
	}
	protoset, err := loadkit.Protoset()
	if err != nil {
		return err
	}
	fmt.Printf("machine: %s\n", loadkit.MachineSummary())
	fmt.Printf("mix: %d requests cycled: %s\n", len(mix.payloads), mix.describe())
	fmt.Printf("sustained load: %d Checks/s offered for %s; attack: %d distinct invalid tokens in %s\n\n",
		cfg.rate, cfg.duration, cfg.attackTokens, cfg.attackDuration)

	base := []runner.Option{
		runner.WithProtosetBinary(protoset),
		runner.WithInsecure(true),
		runner.WithConcurrency(cfg.workers),
		runner.WithTimeout(5 * time.Second),
		runner.WithDurationStopAction("wait"),
		runner.WithAsync(true),
		runner.WithDisableTemplateFuncs(true),
		runner.WithDisableTemplateData(true),
	}
	// The mix is sent the lean way (loadkit.LeanOptions): the generator
	// shares the two vCPUs, and its per-call work was counted as the
	// server's latency. The attack mints a token per call and cannot be.
	mixOpts, err := loadkit.LeanOptions(mix.payloads)
	if err != nil {
		return err
	}
	// Warm-up: caches, connections, the JIT-less Go runtime's steady state.
	warm := append(append(base, runner.WithRPS(cfg.rate), runner.WithRunDuration(min(cfg.duration/10+time.Second, 10*time.Second))), mixOpts...)
	if _, err := runner.Run(loadkit.CheckMethod, srv.GRPCAddr, warm...); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	start0, err := loadkit.SampleProc(srv.PID())
	if err != nil {
		return err
	}

	var samples []sample
	began := time.Now()
	phase := func(name string, total time.Duration, rps uint, data []runner.Option) error {
		w := cfg.window
		if w <= 0 {
			w = max(total/10, 5*time.Second)
		}
		for left := total; left > 0 && ctx.Err() == nil; left -= w {
			d := min(w, left)
			rep, err := runner.Run(loadkit.CheckMethod, srv.GRPCAddr, append(append(base, runner.WithRPS(rps), runner.WithRunDuration(d)), data...)...)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			ps, err := loadkit.SampleProc(srv.PID())
			if err != nil {
				return err
			}
			s := sample{phase: name, at: time.Since(began), rps: rep.Rps, count: rep.Count, rssKiB: ps.RSSKiB, kinds: rep.ErrorDist}
			s.errors, s.p50, _, s.p99 = loadkit.ReadReport(rep)
			samples = append(samples, s)
			fmt.Fprintf(os.Stderr, "%s %6s: %.0f/s p99 %s errors %d RSS %.1f MiB\n", name, s.at.Round(time.Second), s.rps, ms(s.p99), s.errors, mib(s.rssKiB))
		}
		return ctx.Err()
	}
	if err := phase("soak", cfg.duration, cfg.rate, mixOpts); err != nil {
		return err
	}
	soakEnd := len(samples)
	attackStart, err := loadkit.SampleProc(srv.PID())
	if err != nil {
		return err
	}
	if cfg.attackDuration > 0 && cfg.attackTokens > 0 {
		attackRate := uint(float64(cfg.attackTokens)/cfg.attackDuration.Seconds() + 0.5)
		if err := phase("attack", cfg.attackDuration, max(attackRate, 1), []runner.Option{runner.WithBinaryDataFunc(attackData(minter))}); err != nil {
			return err
		}
	}
	end, err := loadkit.SampleProc(srv.PID())
	if err != nil {
		return err
	}

	report(samples, soakEnd, start0.RSSKiB, attackStart.RSSKiB, end, cfg)
	if cfg.png != "" {
		if err := draw2(cfg.png, samples); err != nil {
			return err
		}
		fmt.Printf("\nplot: %s\n", cfg.png)
	}
	return nil
}

// creds are the local credentials made before the server starts.
type creds struct {
	apiToken, basicUser, basicPassword string
}

// provision makes, with the CLI on the data directory, a service user with
// an API token and a user with a password, both developers.
func provision(bin, dir string) (creds, error) {
	c := creds{basicUser: "soak-basic", basicPassword: "soak-password-1"}
	env := append(os.Environ(), "AUTH_MODE=embedded", "CONTROLLER_PUBLIC_URL="+loadkit.PublicURL,
		"AUTH_INSECURE_ALLOW_HTTP=true", "DATA_DIR="+dir, "LOG_LEVEL=warn")
	cli := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("gatehouse %s: %v: %s", strings.Join(args, " "), err, errb.String())
		}
		return out.String(), nil
	}
	steps := [][]string{
		{"user", "create", "soak-svc"},
		{"user", "create", c.basicUser, "--password-stdin"},
		{"group", "create", "developer"},
		{"group", "add", "developer", "soak-svc", c.basicUser},
	}
	for _, s := range steps {
		stdin := ""
		if slicesContains(s, "--password-stdin") {
			stdin = c.basicPassword + "\n"
		}
		if _, err := cli(stdin, s...); err != nil {
			return c, err
		}
	}
	out, err := cli("", "token", "create", "soak-svc", "--name", "soak")
	if err != nil {
		return c, err
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			c.apiToken = f[len(f)-1] // the secret is printed last
		}
	}
	if c.apiToken == "" {
		return c, fmt.Errorf("token create printed no secret: %q", out)
	}
	return c, nil
}

func slicesContains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

// mix is the request mix of the sustained load.
type mix struct {
	payloads [][]byte
	kinds    map[string]int
	order    []string
}

func (m *mix) describe() string {
	var parts []string
	for _, k := range m.order {
		parts = append(parts, fmt.Sprintf("%s %.1f%%", k, 100*float64(m.kinds[k])/float64(len(m.payloads))))
	}
	return strings.Join(parts, ", ")
}

// delimited frames a message the way ghz's binary data expects.
func delimited(b []byte) []byte { return append(protowire.AppendVarint(nil, uint64(len(b))), b...) }

// buildMix is 1000 requests over the load paths: valid bearer tokens (distinct
// users and groups), tampered, expired and foreign-audience bearer tokens,
// no credential, valid and unknown API tokens, and valid and wrong Basic
// passwords (basicPermille of them).
func buildMix(m *loadkit.Minter, c creds, basicPermille int) (*mix, error) {
	const n = 1000
	now := time.Now()
	out := &mix{kinds: map[string]int{}}
	add := func(kind string, i int, call loadkit.Call) error {
		p := loadkit.LoadPaths[i%len(loadkit.LoadPaths)]
		call.Method, call.Path = p.Method, p.Path
		b, err := proto.Marshal(loadkit.CheckRequest(call, i))
		if err != nil {
			return err
		}
		out.payloads = append(out.payloads, b)
		if out.kinds[kind] == 0 {
			out.order = append(out.order, kind)
		}
		out.kinds[kind]++
		return nil
	}
	basicValid := basicPermille / 2
	basicWrong := basicPermille - basicValid
	basicAuth := func(user, pw string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
	}
	for i := range n {
		user := fmt.Sprintf("user-%d", i%100)
		group := loadkit.Groups[(i%100)%len(loadkit.Groups)]
		var err error
		switch r := i % n; {
		case r < basicValid:
			err = add("basic valid", i, loadkit.Call{Authorization: basicAuth(c.basicUser, c.basicPassword)})
		case r < basicValid+basicWrong:
			err = add("basic wrong password", i, loadkit.Call{Authorization: basicAuth(c.basicUser, fmt.Sprintf("wrong-%d", i))})
		case r%20 < 2: // 10%
			err = add("API token valid", i, loadkit.Call{Authorization: "Token " + c.apiToken})
		case r%20 < 3: // 5%
			err = add("API token unknown", i, loadkit.Call{Authorization: fmt.Sprintf("Token unknown-%032d", i)})
		case r%20 < 5: // 10%
			err = add("no credential", i, loadkit.Call{})
		case r%20 < 6: // 5%
			var tok string
			if tok, err = m.Mint(user, []string{group}, fmt.Sprintf("soak-x-%d", i), 2*time.Hour, now); err == nil {
				err = add("bearer tampered", i, loadkit.Call{Token: tok[:len(tok)-4] + "AAAA"})
			}
		case r%20 < 7: // 5%
			var tok string
			if tok, err = m.Mint(user, []string{group}, fmt.Sprintf("soak-e-%d", i), -time.Hour, now); err == nil {
				err = add("bearer expired", i, loadkit.Call{Token: tok})
			}
		case r%20 < 8: // 5%
			err = add("garbage", i, loadkit.Call{Authorization: fmt.Sprintf("Bearer not.a-%d.jwt", i)})
		default: // 60%
			var tok string
			if tok, err = m.Mint(user, []string{group}, fmt.Sprintf("soak-%d", i), 2*time.Hour, now); err == nil {
				err = add("bearer valid", i, loadkit.Call{Token: tok})
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// attackData sends a distinct invalid token on every call: a real token's
// header and claims with the request number written into its signature, so
// each one is parsed and its signature checked, and none can be cached.
func attackData(m *loadkit.Minter) func(*desc.MethodDescriptor, *runner.CallData) []byte {
	tok, err := m.Mint("attacker", []string{"admin"}, "attack", 2*time.Hour, time.Now())
	if err != nil {
		panic(err)
	}
	parts := strings.SplitN(tok, ".", 3)
	return func(_ *desc.MethodDescriptor, cd *runner.CallData) []byte {
		var nb [8]byte
		binary.BigEndian.PutUint64(nb[:], uint64(cd.RequestNumber))
		// 8 bytes are 11 base64url characters: the signature keeps its
		// length, decodes, and verifies against nothing.
		forged := parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-11] + base64.RawURLEncoding.EncodeToString(nb[:])
		b, err := proto.Marshal(loadkit.CheckRequest(loadkit.Call{Method: "GET", Path: "/api/v3/microservices", Token: forged}, int(cd.RequestNumber)))
		if err != nil {
			panic(err)
		}
		return delimited(b)
	}
}

func report(samples []sample, soakEnd int, rssStart, rssAttackStart int64, end loadkit.ProcSample, cfg config) {
	fmt.Println("| phase | t | Checks/s | p50 | p99 | errors | RSS |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	var soakCount, soakErrors, attackCount, attackErrors uint64
	var worstSoakP99 time.Duration
	for i, s := range samples {
		fmt.Printf("| %s | %s | %.0f | %s | %s | %d | %.1f MiB |\n", s.phase, s.at.Round(time.Second), s.rps, ms(s.p50), ms(s.p99), s.errors, mib(s.rssKiB))
		if i < soakEnd {
			soakCount += s.count
			soakErrors += s.errors
			worstSoakP99 = max(worstSoakP99, s.p99)
		} else {
			attackCount += s.count
			attackErrors += s.errors
		}
	}
	fmt.Println()
	if soakEnd > 0 {
		rssSoakEnd := samples[soakEnd-1].rssKiB
		drift := 100 * float64(rssSoakEnd-rssStart) / float64(rssStart)
		fmt.Printf("soak: %d Checks in %s (%.0f/s offered %d), %d errors, worst window p99 %s, RSS %.1f → %.1f MiB (drift %+.1f%%, promise ≤ 5%%)\n",
			soakCount, cfg.duration, float64(soakCount)/cfg.duration.Seconds(), cfg.rate, soakErrors, ms(worstSoakP99), mib(rssStart), mib(rssSoakEnd), drift)
	}
	if len(samples) > soakEnd {
		fmt.Printf("attack: %d distinct invalid tokens in %s, %d errors, RSS %.1f → %.1f MiB (growth %+.1f MiB, promise ≤ 64 MiB; peak %.1f MiB)\n",
			attackCount, cfg.attackDuration, attackErrors, mib(rssAttackStart), mib(end.RSSKiB), mib(end.RSSKiB-rssAttackStart), mib(end.HWMKiB))
	}
	for _, s := range samples {
		for kind, n := range s.kinds {
			fmt.Printf("errors %s %s: %d × %s\n", s.phase, s.at.Round(time.Second), n, kind)
		}
	}
}

// draw2 plots RSS (top) and p99 (bottom) against time, one line per phase.
func draw2(out string, samples []sample) error {
	rss, p99 := plot.New(), plot.New()
	rss.Title.Text = "Gatehouse RSS under sustained load, then an invalid-token attack"
	rss.Y.Label.Text = "RSS (MiB)"
	p99.Y.Label.Text = "p99 per window (ms)"
	p99.X.Label.Text = "time (s)"
	rss.Y.Min, p99.Y.Min = 0, 0
	colors := map[string]color.Color{"soak": color.RGBA{R: 31, G: 119, B: 180, A: 255}, "attack": color.RGBA{R: 214, G: 39, B: 40, A: 255}}
	for _, ph := range []string{"soak", "attack"} {
		var a, b plotter.XYs
		for _, s := range samples {
			if s.phase == ph {
				a = append(a, plotter.XY{X: s.at.Seconds(), Y: mib(s.rssKiB)})
				b = append(b, plotter.XY{X: s.at.Seconds(), Y: float64(s.p99) / float64(time.Millisecond)})
			}
		}
		if len(a) == 0 {
			continue
		}
		for _, pl := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{rss, a}, {p99, b}} {
			l, pts, err := plotter.NewLinePoints(pl.xys)
			if err != nil {
				return err
			}
			l.Color, pts.Color = colors[ph], colors[ph]
			l.Width = vg.Points(1.5)
			pl.p.Add(l, pts)
			pl.p.Legend.Add(ph, l, pts)
		}
	}
	rss.Add(plotter.NewGrid())
	p99.Add(plotter.NewGrid())
	img := vgimg.New(8*vg.Inch, 7*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 2 * vg.Millimeter, PadTop: vg.Millimeter, PadBottom: vg.Millimeter, PadLeft: vg.Millimeter, PadRight: 2 * vg.Millimeter}
	canvases := plot.Align([][]*plot.Plot{{rss}, {p99}}, tiles, dc)
	rss.Draw(canvases[0][0])
	p99.Draw(canvases[1][0])
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return err
	}
	return f.Close()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mib(kib int64) float64 { return float64(kib) / 1024 }
