package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/server/oauth"
)

// FuzzCallbackQuery sends the IdP's callback with any query (state, code,
// error, error_description, repeated or malformed), with or without a live
// BFF session cookie and a console URL. "{state}" in the query is replaced
// by the session's real state, so the fuzzer reaches the code exchange
// ("code=good" is the stand-in IdP's valid code). The callback never
// panics; it either redirects (302) to exactly {ConsoleURL}/login with a
// fragment, and nowhere else, or answers a JSON {"name","message"} error;
// tokens are handed out only for the right state and code and no error
// parameter. Seeds: testdata/fuzz/FuzzCallbackQuery.
func FuzzCallbackQuery(f *testing.F) {
	const console = "https://console.example"
	f.Fuzz(func(t *testing.T, rawQuery string, withSession, withConsole bool) {
		b := &broker{refresh: "rt"}
		h := newBFF(t, b, func(o *oauth.Options) {
			if !withConsole {
				o.ConsoleURL = ""
			}
		})
		var cookies []*http.Cookie
		state := ""
		if withSession {
			state, cookies, _ = authorize(t, h)
		}
		r := httptest.NewRequest("GET", oauth.CallbackPath, nil)
		r.URL.RawQuery = strings.ReplaceAll(rawQuery, "{state}", url.QueryEscape(state))
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		q := r.URL.Query()
		granted := withSession && q.Get("error") == "" && q.Get("code") == "good" && q.Get("state") == state
		out := w.Body.String()
		loc := w.Header().Get("Location")
		switch {
		case w.Code == http.StatusFound:
			u, err := url.Parse(loc)
			if !withConsole || err != nil || !strings.HasPrefix(loc, console+"/login#") ||
				u.Scheme != "https" || u.Host != "console.example" || u.Path != "/login" || u.RawQuery != "" || u.User != nil {
				t.Fatalf("%q: redirect to %q", rawQuery, loc)
			}
			frag, err := url.ParseQuery(u.EscapedFragment())
			if err != nil {
				t.Fatalf("%q: fragment of %q: %v", rawQuery, loc, err)
			}
			if (frag.Get("accessToken") != "") != granted || granted && frag.Get("accessToken") != "at" {
				t.Fatalf("%q (session %v): redirect %q", rawQuery, withSession, loc)
			}
		case w.Code == http.StatusOK:
			if withConsole || !granted || !strings.Contains(out, `"accessToken":"at"`) {
				t.Fatalf("%q: 200 %s", rawQuery, out)
			}
		default:
			var env struct{ Name, Message string }
			if loc != "" || w.Code < 400 || json.Unmarshal([]byte(out), &env) != nil || env.Name == "" {
				t.Fatalf("%q: %d %s (Location %q)", rawQuery, w.Code, out, loc)
			}
			if granted {
				t.Fatalf("%q: refused a valid callback: %d %s", rawQuery, w.Code, out)
			}
		}
	})
}
