package oidc

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-authz/gatehouse/issuer"
)

// sessionCookie is the sign-in session (single sign-on,
// issuer.ResumeSession): sent only to the issuer's own endpoints (its path,
// "/oidc" under the public URL), never readable by scripts, and Lax so that
// a client's top-level redirect to /auth carries it.
const sessionCookie = "gatehouse_oidc_session"

// sessionCookiePath is the issuer URL's path, as browsers see it.
func (h *Handler) sessionCookiePath() string {
	if u, err := url.Parse(h.issuer); err == nil && u.Path != "" {
		return u.Path
	}
	return "/"
}

func (h *Handler) setSession(w http.ResponseWriter, value string) {
	if value == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: value, Path: h.sessionCookiePath(), HttpOnly: true,
		Secure: h.o.SecureCookies, SameSite: http.SameSiteLaxMode,
		MaxAge: int(h.svc.Config().SessionTTL / time.Second),
	})
}

func (h *Handler) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: h.sessionCookiePath(), HttpOnly: true,
		Secure: h.o.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
}

// maxAge reads the max_age parameter: -1 when absent.
func maxAge(v string) (time.Duration, bool) {
	if v == "" {
		return -1, true
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// resume answers the authorization request from the browser's sign-in
// session when it has a usable one; false means the browser signs in.
func (h *Handler) resume(w http.ResponseWriter, r *http.Request, req issuer.AuthRequest, age time.Duration) (answered bool, err error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return false, nil
	}
	to, err := h.svc.ResumeSession(r.Context(), c.Value, req, age)
	if errors.Is(err, issuer.ErrNoSession) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	http.Redirect(w, r, to, http.StatusFound)
	return true, nil
}
