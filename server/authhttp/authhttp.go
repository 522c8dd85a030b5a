// Package authhttp holds the HTTP middleware of the login doors: the client
// IP (TRUST_PROXY), the per-IP sliding-window rate limit of the auth routes,
// CORS for the console origin, and the 204 of logout. It wraps the whole HTTP
// listener, so routes served by other packages (the embedded issuer's
// interaction, MFA and password routes) are limited alike.
package authhttp

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Limiter is the shared sliding-window log (store.AuthState).
type Limiter interface {
	RateHit(ctx context.Context, key string, now time.Time, window time.Duration, max int) (bool, time.Duration, error)
}

// Options configure Middleware.
type Options struct {
	// RateLimit: nil Limiter or !Enabled disables it.
	Limiter     Limiter
	Enabled     bool
	MaxRequests int
	Window      time.Duration
	// TrustProxy takes the client IP from one proxy hop of X-Forwarded-For.
	TrustProxy bool
	// ConsoleURL's origin is the only CORS origin allowed.
	ConsoleURL string
	Logger     *slog.Logger
	Now        func() time.Time
}

// Middleware returns the wrapper of the HTTP listener.
func Middleware(opts Options) func(http.Handler) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	origin := Origin(opts.ConsoleURL)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if o := r.Header.Get("Origin"); o != "" {
				w.Header().Add("Vary", "Origin")
				if origin != "" && o == origin {
					h := w.Header()
					h.Set("Access-Control-Allow-Origin", origin)
					h.Set("Access-Control-Allow-Credentials", "true")
					if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
						h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
						h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
						h.Set("Access-Control-Max-Age", "600")
						w.WriteHeader(http.StatusNoContent)
						return
					}
				} else if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
					// A preflight from any other origin gets no CORS grant.
					w.WriteHeader(http.StatusNoContent)
					return
				}
			}
			if opts.Enabled && opts.Limiter != nil && r.Method != http.MethodOptions && Limited(r.Method, r.URL.Path) {
				ip := ClientIP(r, opts.TrustProxy)
				ok, retry, err := opts.Limiter.RateHit(r.Context(), "auth:"+ip, opts.Now(), opts.Window, opts.MaxRequests)
				if err != nil {
					// The limit protects the IdP; losing it for a while is
					// better than refusing every login.
					opts.Logger.Warn("rate limit unavailable; request let through", "err", err)
				} else if !ok {
					secs := max(1, int(math.Ceil(retry.Seconds())))
					w.Header().Set("Retry-After", strconv.Itoa(secs))
					writeJSON(w, http.StatusTooManyRequests, map[string]string{
						"name":    "RateLimitExceededError",
						"message": "Too many authentication requests from this IP address",
					})
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Limited reports whether a request counts against the auth rate limit
// (RL-03): login, OAuth authorize and callback, change-password, MFA enroll
// and confirm (any method), and every POST under interaction/<uid>/.
// Refresh, profile and GET interaction/<uid> are not limited (RL-04).
func Limited(method, path string) bool {
	path = strings.TrimSuffix(path, "/")
	switch path {
	case "/api/v3/user/login", "/api/v3/user/oauth/authorize", "/api/v3/user/oauth/callback",
		"/api/v3/user/change-password", "/api/v3/user/mfa/enroll", "/api/v3/user/mfa/confirm":
		return true
	}
	if rest, ok := strings.CutPrefix(path, "/api/v3/user/interaction/"); ok && method == http.MethodPost {
		uid, action, _ := strings.Cut(rest, "/")
		return uid != "" && action != ""
	}
	return false
}

// DecisionRequest is an HTTP request as the decision core sees it, for
// Gatehouse's own REST routes: its Headers, and the client IP as ClientIP
// reads it. Cookies travel as a header but no authenticator reads them: a
// cookie is never a credential.
func DecisionRequest(r *http.Request, trustProxy bool) *gatehouse.Request {
	return &gatehouse.Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host,
		Headers: Headers(r.Header), SourceIP: ClientIP(r, trustProxy),
	}
}

// Headers is h as every door gives it to the decision core: lower-case
// names, repeated values joined with ", " (gatehouse.LowerHeaders for a map
// of single values).
func Headers(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	return out
}

// ClientIP is the address the request came from: with trustProxy, the last
// X-Forwarded-For entry (the one the single trusted proxy appended), else the
// peer address.
func ClientIP(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if ip := strings.TrimSpace(parts[len(parts)-1]); net.ParseIP(ip) != nil {
				return ip
			}
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// Origin is scheme://host of a URL ("" when it has none).
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// NoContent turns a handler's 200 into 204 with no body (logout).
func NoContent(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&noContentWriter{ResponseWriter: w}, r)
	})
}

type noContentWriter struct {
	http.ResponseWriter
	wrote, drop bool
}

func (w *noContentWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if code == http.StatusOK {
		w.drop = true
		w.Header().Del("Content-Type")
		w.Header().Del("Content-Length")
		code = http.StatusNoContent
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *noContentWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.drop {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone
}
