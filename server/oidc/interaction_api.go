package oidc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse-authz/gatehouse/issuer"
)

// apiGetInteraction is IN-01: the current step of an interaction.
func (h *Handler) apiGetInteraction(w http.ResponseWriter, r *http.Request) {
	in, err := h.svc.Interaction(r.Context(), r.PathValue("uid"))
	if err != nil {
		h.apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"step": in.Step})
}

// apiPostInteraction is IN-02…IN-03: one step of the interaction, driven by
// a console ({CONSOLE_URL}/login/oauth) instead of the built-in page.
func (h *Handler) apiPostInteraction(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	uid, action := r.PathValue("uid"), r.PathValue("action")
	var body map[string]any
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			writeEnvelope(w, http.StatusBadRequest, "ValidationError", "Request body must be a JSON object")
			return
		}
	}
	str := func(k string) (string, bool) {
		v, ok := body[k].(string)
		return v, ok
	}
	required := func(keys ...string) bool {
		for _, k := range keys {
			if v, ok := str(k); !ok || v == "" {
				writeEnvelope(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("Required field '%s' is missing", k))
				return false
			}
		}
		return true
	}
	ctx := r.Context()
	var (
		in  issuer.Interaction
		err error
	)
	resp := map[string]any{}
	switch action {
	case "login":
		if !required("email", "password") {
			return
		}
		login, _ := str("email")
		pw, _ := str("password")
		in, err = h.svc.InteractionLogin(ctx, uid, login, pw)
	case "mfa":
		if !required("code") {
			return
		}
		code, _ := str("code")
		in, err = h.svc.InteractionMFA(ctx, uid, code)
	case "enroll":
		var enr issuer.Enrollment
		in, enr, err = h.svc.InteractionEnroll(ctx, uid)
		resp["secret"], resp["otpauthUrl"] = enr.Secret, enr.OTPAuthURL
	case "confirm-enroll":
		if !required("code") {
			return
		}
		code, _ := str("code")
		var codes []string
		in, codes, err = h.svc.InteractionConfirmEnroll(ctx, uid, code)
		resp["recoveryCodes"] = codes
	case "change-password":
		if !required("currentPassword", "newPassword") {
			return
		}
		cur, _ := str("currentPassword")
		nw, _ := str("newPassword")
		in, err = h.svc.InteractionChangePassword(ctx, uid, cur, nw)
	case "complete":
		to, session, err := h.svc.InteractionComplete(ctx, uid)
		if err != nil {
			h.apiError(w, err)
			return
		}
		h.setSession(w, session)
		writeJSON(w, http.StatusOK, map[string]string{"step": issuer.StepComplete, "redirectTo": to})
		return
	default:
		writeEnvelope(w, http.StatusNotFound, "NotFoundError", "Unknown interaction action")
		return
	}
	if err != nil {
		h.apiError(w, err)
		return
	}
	resp["step"] = in.Step
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) apiError(w http.ResponseWriter, err error) {
	var se *issuer.StepError
	var pe *issuer.PolicyError
	switch {
	case errors.Is(err, issuer.ErrInteractionNotFound):
		writeEnvelope(w, http.StatusUnauthorized, "AuthenticationError", issuer.ErrInteractionNotFound.Error())
	case errors.As(err, &se):
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", se.Error())
	case errors.As(err, &pe):
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", strings.Join(pe.Rules, "; "))
	case errors.Is(err, issuer.ErrPasswordReused), errors.Is(err, issuer.ErrMFAAlreadyEnabled), errors.Is(err, issuer.ErrMFANotStarted):
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", sentinelMessage(err))
	case errors.Is(err, issuer.ErrInvalidCredentials):
		writeEnvelope(w, http.StatusUnauthorized, "InvalidCredentialsError", "Invalid credentials")
	default:
		h.log.Error("interaction", "err", err)
		writeEnvelope(w, http.StatusInternalServerError, "InternalServerError", "Internal server error")
	}
}
