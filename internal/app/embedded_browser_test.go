package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	qrreader "github.com/makiuchi-d/gozxing/qrcode"

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
// is shown a QR code; the test decodes it as an authenticator app would
// (the PNG the page carries, and Chromium's rendering of the element),
// reads the otpauth:// URL, computes the current code from that URL's secret
// with its own RFC 6238 code, enrols with it in the browser, sees ten
// recovery codes, and lands at the console.
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
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src.Value, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	fromData := decodeQR(t, "the <img> data", raw)
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID("qr")))
	if err != nil {
		t.Fatalf("screenshot of the QR code: %v", err)
	}
	if fromScreen := decodeQR(t, "Chromium's screenshot", shot); fromScreen != fromData {
		t.Fatalf("the rendered QR code reads %q, its PNG %q", fromScreen, fromData)
	}

	u, err := url.Parse(fromData)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("the QR code holds %q, not an otpauth://totp/ URL (%v)", fromData, err)
	}
	q := u.Query()
	if label := strings.TrimPrefix(u.Path, "/"); label != issuer.TOTPIssuer+":ned@example.com" || q.Get("issuer") != issuer.TOTPIssuer {
		t.Fatalf("otpauth label %q, issuer %q", label, q.Get("issuer"))
	}
	if shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("secret"))); err != nil || strings.TrimSpace(shown) != q.Get("secret") {
		t.Fatalf("the page writes the secret %q, the QR code holds %q (%v)", shown, q.Get("secret"), err)
	}
	code := authenticatorCode(t, q, time.Now())
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

// decodeQR reads the text of the QR code in a PNG with the ZXing decoder.
func decodeQR(t *testing.T, what string, pngBytes []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", what, err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	res, err := qrreader.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("no QR code can be read from %s: %v", what, err)
	}
	return res.GetText()
}

// authenticatorCode is what an authenticator app computes from an otpauth
// URL's parameters at now (RFC 6238 over RFC 4226), written here apart from
// the issuer package's own TOTP code.
func authenticatorCode(t *testing.T, q url.Values, now time.Time) string {
	t.Helper()
	if a := q.Get("algorithm"); a != "" && a != "SHA1" {
		t.Fatalf("otpauth algorithm %q (authenticator apps assume SHA1)", a)
	}
	digits, period := 6, int64(30)
	if d := q.Get("digits"); d != "" {
		digits, _ = strconv.Atoi(d)
	}
	if p := q.Get("period"); p != "" {
		period, _ = strconv.ParseInt(p, 10, 64)
	}
	if digits != 6 || period != 30 {
		t.Fatalf("otpauth digits %d, period %d: want 6 and 30", digits, period)
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(q.Get("secret"), "=")))
	if err != nil || len(key) < 10 {
		t.Fatalf("otpauth secret %q: %d bytes, %v", q.Get("secret"), len(key), err)
	}
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], uint64(now.Unix()/period))
	mac := hmac.New(sha1.New, key)
	mac.Write(counter[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}
