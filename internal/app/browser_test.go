package app_test

import (
	"context"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// consolePage stands in for the console's /login route: it reads the
// tokens from the fragment as the real console does.
const consolePage = `<!DOCTYPE html><html><body><pre id="token"></pre><pre id="error"></pre>
<script>
const f = new URLSearchParams(location.hash.slice(1));
document.getElementById('token').textContent = f.get('accessToken') || '';
document.getElementById('error').textContent = f.get('error') || '';
document.body.setAttribute('data-ready', '1');
</script></body></html>`

// TestBF03ChromiumSignIn: headless Chromium signs in through the BFF
// against the real IdP, filling its login form, and lands on the console
// with an access token that passes ext_authz.
func TestBF03ChromiumSignIn(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	testenv.RequireServer(t, "Chromium (Debian package chromium)", err)
	idp := startIdP(t)

	ln := testenv.Listen(t)
	console := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(consolePage))
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	g := startExternal(t, idp, "CONSOLE_URL", console)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	err = chromedp.Do(ctx,
		chromedp.Navigate(g.base+"/api/v3/user/oauth/authorize"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), testenv.IdPAlice),
		chromedp.SendKeys(chromedp.ID("password"), testenv.IdPAlicePassword),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitReady(chromedp.CSS("body[data-ready]")),
	)
	if err != nil {
		t.Fatalf("browser sign-in: %v\nlogs:\n%s", err, g.logs.String())
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	token, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("token")))
	if err != nil {
		t.Fatal(err)
	}
	if token == "" {
		msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("error")))
		t.Fatalf("no access token at %s (error %q)", loc, msg)
	}
	o := g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(token)})
	if !o.allowed || o.subject != "alice" {
		t.Fatalf("token from the browser through ext_authz: %+v", o)
	}
}
