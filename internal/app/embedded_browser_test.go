package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/gatehouse-authz/gatehouse/issuer"
)

// requireChromium applies the external-server rule to Debian's chromium.
func requireChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required (CI=true) but not installed")
	}
	t.Skip("skipping: chromium not installed")
	return ""
}

// headless starts a fresh headless Chromium (DESIGN.md's flags) for one
// test.
func headless(t *testing.T) context.Context {
	t.Helper()
	path := requireChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// consoleServer stands in for the console on loopback: its /login page is
// where Gatehouse's BFF delivers the tokens (BF-03).
func consoleServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`<!doctype html><title>console</title><p id="console">console</p>`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// startWithConsole runs Gatehouse in embedded mode with its BFF delivering
// to a loopback console (CONSOLE_URL).
func startWithConsole(t *testing.T) (*eg, *httptest.Server) {
	t.Helper()
	console := consoleServer(t)
	return startEmbedded(t, "CONSOLE_URL", console.URL), console
}

func fill(t *testing.T, ctx context.Context, fields map[string]string) {
	t.Helper()
	for id, v := range fields {
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), v)); err != nil {
			t.Fatalf("fill %s: %v", id, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("submit"))); err != nil {
		t.Fatalf("submit: %v", err)
	}
}

// landAtConsole waits (bounded) until the browser is on the console's
// /login and returns the tokens of its fragment.
func landAtConsole(t *testing.T, ctx context.Context, console string) url.Values {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && strings.HasPrefix(loc, console+"/login#") {
			frag, _ := url.ParseQuery(loc[strings.Index(loc, "#")+1:])
			return frag
		}
		if time.Now().After(deadline) {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
			t.Fatalf("never reached the console (at %q):\n%s", loc, html)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserLoginWithTOTP: headless Chromium starts at Gatehouse's BFF
// (/api/v3/user/oauth/authorize), signs in on Gatehouse's login page with
// password and TOTP and lands at the console URL with tokens in the
// fragment; the access token passes ext_authz.
func TestBrowserLoginWithTOTP(t *testing.T) {
	ctx := headless(t)
	e, console := startWithConsole(t)
	u := e.user("tess@example.com", userPass, "admin")
	sec := e.enrollTOTP(u.ID)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.pub+"/api/v3/user/oauth/authorize")); err != nil {
		t.Fatal(err)
	}
	fill(t, ctx, map[string]string{"username": "tess@example.com", "password": userPass})
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("code"))); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("title")))
	if err != nil || title != "Two-factor authentication" {
		t.Fatalf("after the password: %q %v", title, err)
	}
	code, _ := issuer.TOTPCode(sec, issuer.TOTPStep(time.Now()))
	fill(t, ctx, map[string]string{"code": code})
	frag := landAtConsole(t, ctx, console.URL)
	if frag.Get("accessToken") == "" || frag.Get("refreshToken") == "" {
		t.Fatalf("fragment %v", frag)
	}
	o := e.decide(req{method: "POST", path: "/api/v3/application", headers: bearer(frag.Get("accessToken"))})
	wantStatus(t, o, 200)
	if o.subject != "tess@example.com" {
		t.Fatalf("identity %+v", o)
	}
}

// TestBrowserEnrollTOTPFromQR: a user of an mfaRequired group without MFA
// is shown a QR code; the test decodes the PNG, checks it is exactly the
// QR code of the otpauth URL with the page's secret, answers with a code of
// that secret, sees ten recovery codes, and lands at the console.
func TestBrowserEnrollTOTPFromQR(t *testing.T) {
	ctx := headless(t)
	e, console := startWithConsole(t)
	e.user("ned@example.com", userPass, "admin")
	if err := chromedp.Do(ctx, chromedp.Navigate(e.pub+"/api/v3/user/oauth/authorize")); err != nil {
		t.Fatal(err)
	}
	fill(t, ctx, map[string]string{"username": "ned@example.com", "password": userPass})
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("qr"))); err != nil {
		t.Fatal(err)
	}
	src, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("qr"), "src"))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("secret")))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src.Value, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	shown, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the QR code is not a PNG: %v", err)
	}
	want, err := qrcode.New(issuer.OTPAuthURL(issuer.TOTPIssuer, "ned@example.com", secret), qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	wantImg := want.Image(256)
	if shown.Bounds() != wantImg.Bounds() {
		t.Fatalf("QR size %v, want %v", shown.Bounds(), wantImg.Bounds())
	}
	for y := shown.Bounds().Min.Y; y < shown.Bounds().Max.Y; y++ {
		for x := shown.Bounds().Min.X; x < shown.Bounds().Max.X; x++ {
			r1, _, _, _ := shown.At(x, y).RGBA()
			r2, _, _, _ := wantImg.At(x, y).RGBA()
			if (r1 < 0x8000) != (r2 < 0x8000) {
				t.Fatalf("the QR code does not encode the otpauth URL of the page's secret (pixel %d,%d)", x, y)
			}
		}
	}
	code, _ := issuer.TOTPCode(secret, issuer.TOTPStep(time.Now()))
	fill(t, ctx, map[string]string{"code": code})
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("recovery-codes"))); err != nil {
		t.Fatal(err)
	}
	codes, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("recovery-codes")))
	if err != nil || len(strings.Fields(codes)) != 10 {
		t.Fatalf("recovery codes %q %v", codes, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("submit"))); err != nil {
		t.Fatal(err)
	}
	frag := landAtConsole(t, ctx, console.URL)
	wantStatus(t, e.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(frag.Get("accessToken"))}), 200)
}
