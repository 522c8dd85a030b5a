package oidc

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/issuer"
)

//go:embed templates/page.html
var templatesFS embed.FS

var pageTmpl = template.Must(template.ParseFS(templatesFS, "templates/page.html"))

// pageData fills templates/page.html.
type pageData struct {
	Title         string
	Message       string
	Error         string
	Step          string
	Action        string
	CSRF          string
	Login         string
	Secret        string
	OTPAuthURL    string
	QR            template.URL // data: URL of the QR code image
	RecoveryCodes []string
}

func (h *Handler) page(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// No external assets, no scripts; images only from data: URLs.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self' *; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, d); err != nil {
		h.log.Error("login page", "err", err)
	}
}

func (h *Handler) errorPage(w http.ResponseWriter, status int, msg string) {
	h.page(w, status, pageData{Title: "Sign-in error", Error: msg})
}

const csrfCookie = "gatehouse_csrf"

var stepTitles = map[string]string{
	issuer.StepLogin:          "Sign in",
	issuer.StepMFA:            "Two-factor authentication",
	issuer.StepEnroll:         "Set up two-factor authentication",
	issuer.StepConfirmEnroll:  "Set up two-factor authentication",
	issuer.StepChangePassword: "Change your password",
	issuer.StepComplete:       "Signed in",
}

// serveLoginPage shows the form of the interaction's current step.
func (h *Handler) serveLoginPage(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	in, err := h.svc.Interaction(r.Context(), uid)
	if err != nil {
		h.errorPage(w, http.StatusUnauthorized, "This sign-in has expired. Go back to the application and start again.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: in.CSRF, Path: "/oidc/interaction/", HttpOnly: true,
		Secure: h.o.SecureCookies, SameSite: http.SameSiteStrictMode, MaxAge: int(h.svc.Config().InteractionTTL.Seconds()),
	})
	h.renderStep(w, r, in, "", nil)
}

// renderStep renders in's step; for enrolment it starts one (a new secret
// at each visit of the page).
func (h *Handler) renderStep(w http.ResponseWriter, r *http.Request, in issuer.Interaction, errMsg string, codes []string) {
	d := pageData{Title: stepTitles[in.Step], Step: in.Step, Action: "/oidc/interaction/" + url.PathEscape(in.UID), CSRF: in.CSRF, Login: in.Login, Error: errMsg, RecoveryCodes: codes}
	status := http.StatusOK
	if errMsg != "" {
		status = http.StatusUnauthorized
	}
	if in.Step == issuer.StepEnroll || (in.Step == issuer.StepConfirmEnroll && errMsg == "") {
		var enr issuer.Enrollment
		var err error
		in, enr, err = h.svc.InteractionEnroll(r.Context(), in.UID)
		if err != nil {
			h.log.Error("login page: enroll", "err", err)
			h.errorPage(w, http.StatusServiceUnavailable, "The sign-in service is temporarily unavailable.")
			return
		}
		d.Step, d.Secret, d.OTPAuthURL = in.Step, enr.Secret, enr.OTPAuthURL
		if png, err := QRPNG(enr.OTPAuthURL); err == nil {
			d.QR = template.URL("data:image/png;base64," + png)
		}
	}
	if in.Step == issuer.StepConfirmEnroll && errMsg != "" {
		d.Message = "Scan the QR code again from the previous page, or enter the secret in your app."
	}
	h.page(w, status, d)
}

// postLoginPage handles one form submission of the login page.
func (h *Handler) postLoginPage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	uid := r.PathValue("uid")
	ctx := r.Context()
	in, err := h.svc.Interaction(ctx, uid)
	if err != nil {
		h.errorPage(w, http.StatusUnauthorized, "This sign-in has expired. Go back to the application and start again.")
		return
	}
	c, cerr := r.Cookie(csrfCookie)
	if err := r.ParseForm(); err != nil || cerr != nil || !secret.Equal(c.Value, in.CSRF) || !secret.Equal(r.PostForm.Get("csrf"), in.CSRF) {
		h.errorPage(w, http.StatusForbidden, "The form could not be verified. Reload the page and try again.")
		return
	}
	f := r.PostForm
	var codes []string
	if f.Get("continue") != "" && in.Step != issuer.StepComplete {
		h.renderStep(w, r, in, "", nil)
		return
	}
	switch in.Step {
	case issuer.StepLogin:
		in, err = h.svc.InteractionLogin(ctx, uid, f.Get("username"), f.Get("password"))
	case issuer.StepMFA:
		in, err = h.svc.InteractionMFA(ctx, uid, f.Get("code"))
	case issuer.StepConfirmEnroll:
		in, codes, err = h.svc.InteractionConfirmEnroll(ctx, uid, f.Get("code"))
	case issuer.StepChangePassword:
		if f.Get("new_password") != f.Get("confirm_password") {
			h.renderStep(w, r, in, "The new passwords do not match.", nil)
			return
		}
		in, err = h.svc.InteractionChangePassword(ctx, uid, f.Get("current_password"), f.Get("new_password"))
	case issuer.StepComplete:
		// "Continue" after the recovery codes.
	}
	if err != nil {
		h.renderStep(w, r, in, userMessage(err), nil)
		return
	}
	if in.Step == issuer.StepComplete && len(codes) == 0 {
		to, session, err := h.svc.InteractionComplete(ctx, uid)
		if err != nil {
			h.errorPage(w, http.StatusUnauthorized, "This sign-in has expired. Go back to the application and start again.")
			return
		}
		h.setSession(w, session)
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	h.renderStep(w, r, in, "", codes)
}

// userMessage is what the page says about an error: one message for every
// credential failure (no user enumeration).
func userMessage(err error) string {
	var pe *issuer.PolicyError
	switch {
	case errors.As(err, &pe):
		return strings.Join(pe.Rules, ". ") + "."
	case errors.Is(err, issuer.ErrPasswordReused):
		return issuer.ErrPasswordReused.Error() + "."
	case errors.Is(err, issuer.ErrInvalidCredentials):
		return "Invalid credentials."
	}
	return "Something went wrong. Try again."
}
