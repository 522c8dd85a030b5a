package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	"github.com/gatehouse-authz/gatehouse/issuer"
	"github.com/gatehouse-authz/gatehouse/store"
)

// UserStore is what the user and group administration routes need.
type UserStore interface {
	store.Users
	store.Groups
}

// RegisterUsers mounts the Controller's embedded user administration
// (4.6): the caller's own password and MFA under /api/v3/user, and
// /api/v3/users and /api/v3/groups for administrators, each behind gate.
func (h *Handler) RegisterUsers(mux *http.ServeMux, gate Gate, st UserStore) {
	u := &users{h: h, st: st, gate: gate}
	mux.HandleFunc("POST /api/v3/user/change-password", u.changePassword)
	mux.HandleFunc("POST /api/v3/user/mfa/enroll", u.self(u.mfaEnroll))
	mux.HandleFunc("POST /api/v3/user/mfa/confirm", u.self(u.mfaConfirm))
	mux.HandleFunc("DELETE /api/v3/user/mfa", u.self(u.mfaDisable))
	mux.HandleFunc("GET /api/v3/users", u.guard(u.list))
	mux.HandleFunc("POST /api/v3/users", u.guard(u.create))
	mux.HandleFunc("GET /api/v3/users/{id}", u.guard(u.get))
	mux.HandleFunc("PATCH /api/v3/users/{id}", u.guard(u.patch))
	mux.HandleFunc("DELETE /api/v3/users/{id}", u.guard(u.del))
	mux.HandleFunc("POST /api/v3/users/{id}/reset-password", u.guard(u.resetPassword))
	mux.HandleFunc("POST /api/v3/users/{id}/reset-token", u.guard(u.resetToken))
	mux.HandleFunc("GET /api/v3/groups", u.guard(u.listGroups))
	mux.HandleFunc("POST /api/v3/groups", u.guard(u.createGroup))
	mux.HandleFunc("GET /api/v3/groups/{name}", u.guard(u.getGroup))
	mux.HandleFunc("PATCH /api/v3/groups/{name}", u.guard(u.patchGroup))
	mux.HandleFunc("DELETE /api/v3/groups/{name}", u.guard(u.deleteGroup))
}

// RegisterUsersExternal answers those routes in external mode: 501 after
// the gate (UA-09, PW-06).
func RegisterUsersExternal(mux *http.ServeMux, gate Gate) {
	nope := func(msg string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if d := gate.Authorize(r); !d.Allow {
				writeDecision(w, d)
				return
			}
			writeEnvelope(w, http.StatusNotImplemented, "NotImplementedError", msg)
		}
	}
	only := "This endpoint is only available in embedded auth mode"
	mux.HandleFunc("POST /api/v3/user/change-password", nope("Password change is only supported in embedded auth mode"))
	for _, p := range []string{"POST /api/v3/user/mfa/enroll", "POST /api/v3/user/mfa/confirm", "DELETE /api/v3/user/mfa",
		"/api/v3/users", "/api/v3/users/{id}", "/api/v3/users/{id}/{action}", "/api/v3/groups", "/api/v3/groups/{name}"} {
		mux.HandleFunc(p, nope(only))
	}
}

func writeDecision(w http.ResponseWriter, d gatehouse.Decision) {
	for _, hd := range d.Response {
		w.Header().Set(hd.Name, hd.Value)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(d.Status)
	_, _ = w.Write(d.Body)
}

type users struct {
	h    *Handler
	st   UserStore
	gate Gate
}

func (u *users) guard(fn func(w http.ResponseWriter, r *http.Request, caller string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d := u.gate.Authorize(r); !d.Allow {
			writeDecision(w, d)
			return
		}
		fn(w, r, u.callerID(r))
	}
}

// self guards a route on the caller's own account: a verified embedded
// access token (the gate checked it is authenticated).
func (u *users) self(fn func(w http.ResponseWriter, r *http.Request, caller string)) http.HandlerFunc {
	return u.guard(func(w http.ResponseWriter, r *http.Request, caller string) {
		if caller == "" {
			writeEnvelope(w, http.StatusUnauthorized, "AuthenticationError", "Invalid credentials")
			return
		}
		fn(w, r, caller)
	})
}

// callerID is the user id (sub) of the request's embedded access token.
func (u *users) callerID(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	claims, err := u.h.svc.Verify(strings.TrimSpace(tok), issuer.VerifyOptions{Typ: "at+jwt", Audience: u.h.svc.Config().Audience})
	if err != nil {
		return ""
	}
	sub, _ := claims["sub"].(string)
	return sub
}

// body decodes a JSON object (empty allowed).
func body(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	m := map[string]json.RawMessage{}
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", "Request body must be a JSON object")
		return nil, false
	}
	return m, true
}

// str reads a required (or optional) string field.
func str(w http.ResponseWriter, m map[string]json.RawMessage, key string, required bool) (string, bool) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		if required {
			writeEnvelope(w, http.StatusBadRequest, "ValidationError", "Required field '"+key+"' is missing")
			return "", false
		}
		return "", true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || (required && s == "") {
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", "Invalid format for field '"+key+"'")
		return "", false
	}
	return s, true
}

func (u *users) fail(w http.ResponseWriter, err error) {
	var pe *issuer.PolicyError
	switch {
	case errors.As(err, &pe):
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", pe.Error())
	case errors.Is(err, issuer.ErrPasswordReused), errors.Is(err, issuer.ErrMFAAlreadyEnabled),
		errors.Is(err, issuer.ErrMFANotStarted), errors.Is(err, issuer.ErrMFANotEnabled):
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", sentinelMessage(err))
	case errors.Is(err, issuer.ErrInvalidCredentials):
		writeEnvelope(w, http.StatusUnauthorized, "InvalidCredentialsError", "Invalid credentials")
	case errors.Is(err, gatehouse.ErrNotFound):
		writeEnvelope(w, http.StatusNotFound, "NotFoundError", "User not found")
	default:
		u.h.log.Error("user administration", "err", err)
		writeEnvelope(w, http.StatusInternalServerError, "InternalServerError", "Internal server error")
	}
}

var ok200 = map[string]string{"status": "success"}

// changePassword is PW-01…PW-05: with the bearer and the current password,
// or with a reset token and no bearer.
func (u *users) changePassword(w http.ResponseWriter, r *http.Request) {
	m, good := body(w, r)
	if !good {
		return
	}
	newPW, good := str(w, m, "newPassword", true)
	if !good {
		return
	}
	ctx := r.Context()
	if _, has := m["resetToken"]; has {
		tok, good := str(w, m, "resetToken", true)
		if !good {
			return
		}
		if err := u.h.svc.ResetPassword(ctx, tok, newPW); err != nil {
			u.fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, ok200)
		return
	}
	if d := u.gate.Authorize(r); !d.Allow {
		writeDecision(w, d)
		return
	}
	caller := u.callerID(r)
	cur, good := str(w, m, "currentPassword", true)
	if !good {
		return
	}
	if caller == "" {
		writeEnvelope(w, http.StatusUnauthorized, "InvalidCredentialsError", "Invalid credentials")
		return
	}
	usr, err := u.st.GetUser(ctx, caller)
	if err != nil {
		u.fail(w, err)
		return
	}
	if _, _, err := u.h.svc.Accounts.CheckPassword(ctx, usr.Login, cur); err != nil {
		u.fail(w, err)
		return
	}
	if err := u.h.svc.ChangePassword(ctx, caller, newPW); err != nil {
		u.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ok200)
}

func (u *users) mfaEnroll(w http.ResponseWriter, r *http.Request, caller string) {
	usr, err := u.st.GetUser(r.Context(), caller)
	if err != nil {
		u.fail(w, err)
		return
	}
	sec, err := u.h.svc.Accounts.StartEnrollment(r.Context(), caller)
	if err != nil {
		u.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": sec, "otpauthUrl": issuer.OTPAuthURL(issuer.TOTPIssuer, usr.Login, sec)})
}

func (u *users) mfaConfirm(w http.ResponseWriter, r *http.Request, caller string) {
	m, good := body(w, r)
	if !good {
		return
	}
	code, good := str(w, m, "code", true)
	if !good {
		return
	}
	codes, err := u.h.svc.Accounts.ConfirmEnrollment(r.Context(), caller, code)
	if err != nil {
		u.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recoveryCodes": codes})
}

func (u *users) mfaDisable(w http.ResponseWriter, r *http.Request, caller string) {
	m, good := body(w, r)
	if !good {
		return
	}
	pw, good := str(w, m, "password", true)
	if !good {
		return
	}
	code, good := str(w, m, "code", true)
	if !good {
		return
	}
	if err := u.h.svc.DisableMFA(r.Context(), caller, pw, code); err != nil {
		u.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ok200)
}

// userJSON is the Controller's user shape (UA-01).
func (u *users) userJSON(ctx context.Context, usr gatehouse.User) (map[string]any, error) {
	groups, err := u.st.GroupsOf(ctx, usr.ID)
	if err != nil {
		return nil, err
	}
	acc, err := u.h.svc.Accounts.Account(ctx, usr.ID)
	if err != nil {
		return nil, err
	}
	email := usr.Email
	if email == "" {
		email = usr.Login
	}
	return map[string]any{
		"id": usr.ID, "email": email, "groups": nonNilStrings(groups), "mustChangePassword": acc.MustChange,
		"mfaEnabled": acc.MFAEnabled, "isBootstrap": acc.Bootstrap,
		"createdAt": usr.CreatedAt.Format(time.RFC3339Nano), "updatedAt": usr.UpdatedAt.Format(time.RFC3339Nano),
	}, nil
}

func (u *users) list(w http.ResponseWriter, r *http.Request, _ string) {
	all, err := u.st.ListUsers(r.Context())
	if err != nil {
		u.fail(w, err)
		return
	}
	out := []map[string]any{}
	for _, usr := range all {
		if usr.PasswordHash == "" { // service principals (AUTH_TOKENS)
			continue
		}
		j, err := u.userJSON(r.Context(), usr)
		if err != nil {
			u.fail(w, err)
			return
		}
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["email"].(string), b["email"].(string)) })
	writeJSON(w, http.StatusOK, out)
}

var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// groupsField reads an optional groups array and checks every name exists.
func (u *users) groupsField(w http.ResponseWriter, r *http.Request, m map[string]json.RawMessage) ([]string, bool, bool) {
	raw, has := m["groups"]
	if !has {
		return nil, false, true
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", "Invalid format for field 'groups'")
		return nil, true, false
	}
	existing, err := u.st.ListGroups(r.Context())
	if err != nil {
		u.fail(w, err)
		return nil, true, false
	}
	var unknown []string
	for i, n := range names {
		names[i] = strings.ToLower(strings.TrimSpace(n))
		if !slices.ContainsFunc(existing, func(g gatehouse.Group) bool { return g.Name == names[i] }) {
			unknown = append(unknown, names[i])
		}
	}
	if len(unknown) > 0 {
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", "Unknown groups: "+strings.Join(unknown, ", "))
		return nil, true, false
	}
	return names, true, true
}

func (u *users) create(w http.ResponseWriter, r *http.Request, _ string) {
	m, good := body(w, r)
	if !good {
		return
	}
	email, good := str(w, m, "email", true)
	if !good {
		return
	}
	email = strings.ToLower(strings.TrimSpace(email))
	if !emailPattern.MatchString(email) {
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", "Invalid format for field 'email'")
		return
	}
	pw, good := str(w, m, "password", true)
	if !good {
		return
	}
	if err := issuer.CheckPasswordPolicy(pw); err != nil {
		u.fail(w, err)
		return
	}
	groups, _, good := u.groupsField(w, r, m)
	if !good {
		return
	}
	ctx := r.Context()
	hash, err := password.Hash(pw, password.DefaultParams())
	if err != nil {
		u.fail(w, err)
		return
	}
	usr, err := u.st.CreateUser(ctx, gatehouse.User{Login: email, Email: email, PasswordHash: hash})
	if errors.Is(err, gatehouse.ErrAlreadyExists) {
		writeEnvelope(w, http.StatusConflict, "ConflictError", "A user with this email already exists")
		return
	}
	if err != nil {
		u.fail(w, err)
		return
	}
	for _, g := range groups {
		if err := u.st.AddMember(ctx, g, usr.ID); err != nil {
			u.fail(w, err)
			return
		}
	}
	if _, err := u.h.svc.Accounts.UpdateAccount(ctx, usr.ID, func(a *issuer.Account) error { a.MustChange = true; return nil }); err != nil {
		u.fail(w, err)
		return
	}
	j, err := u.userJSON(ctx, usr)
	if err != nil {
		u.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, j)
}

func (u *users) get(w http.ResponseWriter, r *http.Request, _ string) {
	usr, err := u.st.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, err)
		return
	}
	j, err := u.userJSON(r.Context(), usr)
	if err != nil {
		u.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (u *users) patch(w http.ResponseWriter, r *http.Request, _ string) {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := u.st.GetUser(ctx, id); err != nil {
		u.fail(w, err)
		return
	}
	m, good := body(w, r)
	if !good {
		return
	}
	email, good := str(w, m, "email", false)
	if !good {
		return
	}
	groups, hasGroups, good := u.groupsField(w, r, m)
	if !good {
		return
	}
	if email != "" {
		email = strings.ToLower(strings.TrimSpace(email))
		if !emailPattern.MatchString(email) {
			writeEnvelope(w, http.StatusBadRequest, "ValidationError", "Invalid format for field 'email'")
			return
		}
		_, err := u.st.UpdateUser(ctx, id, func(x *gatehouse.User) error { x.Login, x.Email = email, email; return nil })
		if errors.Is(err, gatehouse.ErrAlreadyExists) {
			writeEnvelope(w, http.StatusConflict, "ConflictError", "A user with this email already exists")
			return
		}
		if err != nil {
			u.fail(w, err)
			return
		}
	}
	if hasGroups {
		have, err := u.st.GroupsOf(ctx, id)
		if err != nil {
			u.fail(w, err)
			return
		}
		for _, g := range have {
			if !slices.Contains(groups, g) {
				if err := u.st.RemoveMember(ctx, g, id); err != nil {
					u.fail(w, err)
					return
				}
			}
		}
		for _, g := range groups {
			if err := u.st.AddMember(ctx, g, id); err != nil {
				u.fail(w, err)
				return
			}
		}
	}
	u.get(w, r, "")
}

func (u *users) del(w http.ResponseWriter, r *http.Request, caller string) {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := u.st.GetUser(ctx, id); err != nil {
		u.fail(w, err)
		return
	}
	acc, err := u.h.svc.Accounts.Account(ctx, id)
	if err != nil {
		u.fail(w, err)
		return
	}
	switch {
	case acc.Bootstrap:
		writeEnvelope(w, http.StatusForbidden, "ForbiddenError", "Bootstrap admin user cannot be deleted")
		return
	case id == caller:
		writeEnvelope(w, http.StatusForbidden, "ForbiddenError", "Users cannot delete their own account")
		return
	}
	if err := u.h.svc.LogoutUser(ctx, id, ""); err != nil {
		u.fail(w, err)
		return
	}
	if err := u.st.DeleteUser(ctx, id); err != nil {
		u.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (u *users) resetPassword(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	if _, err := u.st.GetUser(r.Context(), id); err != nil {
		u.fail(w, err)
		return
	}
	pw, err := u.h.svc.TemporaryPassword(r.Context(), id)
	if err != nil {
		u.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"temporaryPassword": pw, "mustChangePassword": true})
}

func (u *users) resetToken(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	if _, err := u.st.GetUser(r.Context(), id); err != nil {
		u.fail(w, err)
		return
	}
	tok, err := u.h.svc.NewResetToken(r.Context(), id)
	if err != nil {
		u.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"resetToken": tok, "expiresIn": int(issuer.ResetTokenTTL.Seconds())})
}

func (u *users) groupJSON(ctx context.Context, g gatehouse.Group) (map[string]any, error) {
	s, err := u.h.svc.Accounts.Group(ctx, g.Name)
	if err != nil {
		return nil, err
	}
	at := g.CreatedAt.Format(time.RFC3339Nano)
	return map[string]any{"id": g.Name, "name": g.Name, "isSystem": s.System || slices.Contains(issuer.SystemGroups, g.Name),
		"mfaRequired": s.MFARequired, "createdAt": at, "updatedAt": at}, nil
}

func (u *users) findGroup(ctx context.Context, name string) (gatehouse.Group, error) {
	all, err := u.st.ListGroups(ctx)
	if err != nil {
		return gatehouse.Group{}, err
	}
	for _, g := range all {
		if g.Name == name {
			return g, nil
		}
	}
	return gatehouse.Group{}, gatehouse.ErrNotFound
}

func (u *users) groupFail(w http.ResponseWriter, err error) {
	if errors.Is(err, gatehouse.ErrNotFound) {
		writeEnvelope(w, http.StatusNotFound, "NotFoundError", "Group not found")
		return
	}
	u.fail(w, err)
}

func (u *users) listGroups(w http.ResponseWriter, r *http.Request, _ string) {
	all, err := u.st.ListGroups(r.Context())
	if err != nil {
		u.fail(w, err)
		return
	}
	out := []map[string]any{}
	for _, g := range all {
		j, err := u.groupJSON(r.Context(), g)
		if err != nil {
			u.fail(w, err)
			return
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, out)
}

// mfaField reads an optional boolean mfaRequired.
func mfaField(w http.ResponseWriter, m map[string]json.RawMessage) (*bool, bool) {
	raw, ok := m["mfaRequired"]
	if !ok {
		return nil, true
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", "mfaRequired must be a boolean")
		return nil, false
	}
	return &b, true
}

func (u *users) createGroup(w http.ResponseWriter, r *http.Request, _ string) {
	m, good := body(w, r)
	if !good {
		return
	}
	name, good := str(w, m, "name", true)
	if !good {
		return
	}
	mfa, good := mfaField(w, m)
	if !good {
		return
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if slices.Contains(issuer.SystemGroups, name) {
		writeEnvelope(w, http.StatusConflict, "ConflictError", "A system group with this name already exists")
		return
	}
	ctx := r.Context()
	g, err := u.st.CreateGroup(ctx, name)
	if errors.Is(err, gatehouse.ErrAlreadyExists) {
		writeEnvelope(w, http.StatusConflict, "ConflictError", "A group with this name already exists")
		return
	}
	if err != nil {
		u.fail(w, err)
		return
	}
	if err := u.h.svc.Accounts.SetGroup(ctx, name, issuer.GroupSettings{MFARequired: mfa != nil && *mfa}); err != nil {
		u.fail(w, err)
		return
	}
	j, err := u.groupJSON(ctx, g)
	if err != nil {
		u.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, j)
}

func (u *users) getGroup(w http.ResponseWriter, r *http.Request, _ string) {
	g, err := u.findGroup(r.Context(), strings.ToLower(r.PathValue("name")))
	if err != nil {
		u.groupFail(w, err)
		return
	}
	j, err := u.groupJSON(r.Context(), g)
	if err != nil {
		u.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (u *users) patchGroup(w http.ResponseWriter, r *http.Request, _ string) {
	ctx := r.Context()
	g, err := u.findGroup(ctx, strings.ToLower(r.PathValue("name")))
	if err != nil {
		u.groupFail(w, err)
		return
	}
	m, good := body(w, r)
	if !good {
		return
	}
	mfa, good := mfaField(w, m)
	if !good {
		return
	}
	newName, good := str(w, m, "name", false)
	if !good {
		return
	}
	newName = strings.ToLower(strings.TrimSpace(newName))
	if mfa == nil && newName == "" {
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", "At least one of name or mfaRequired is required")
		return
	}
	settings, err := u.h.svc.Accounts.Group(ctx, g.Name)
	if err != nil {
		u.fail(w, err)
		return
	}
	system := settings.System || slices.Contains(issuer.SystemGroups, g.Name)
	if newName != "" && newName != g.Name {
		if system {
			writeEnvelope(w, http.StatusForbidden, "ForbiddenError", "System group names cannot be changed")
			return
		}
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", "Renaming a group is not supported; create a new group")
		return
	}
	if mfa != nil {
		settings.MFARequired = *mfa
		settings.System = system
		if err := u.h.svc.Accounts.SetGroup(ctx, g.Name, settings); err != nil {
			u.fail(w, err)
			return
		}
	}
	u.getGroup(w, r, "")
}

func (u *users) deleteGroup(w http.ResponseWriter, r *http.Request, _ string) {
	ctx := r.Context()
	name := strings.ToLower(r.PathValue("name"))
	if _, err := u.findGroup(ctx, name); err != nil {
		u.groupFail(w, err)
		return
	}
	if slices.Contains(issuer.SystemGroups, name) {
		writeEnvelope(w, http.StatusForbidden, "ForbiddenError", "System groups cannot be deleted")
		return
	}
	if err := u.st.DeleteGroup(ctx, name); err != nil {
		u.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// sentinelMessage is the message of the issuer sentinel err wraps (the
// store adds context the caller must not see).
func sentinelMessage(err error) string {
	for _, s := range []error{issuer.ErrPasswordReused, issuer.ErrMFAAlreadyEnabled, issuer.ErrMFANotStarted, issuer.ErrMFANotEnabled} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "Invalid request"
}
