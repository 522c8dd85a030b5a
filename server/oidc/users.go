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
	mux.HandleFunc("POST /api/v3/user/change-password", u.open(u.changePassword))
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

// userEndpoint answers a user-administration request with a status and the
// value to encode as its JSON body (no body for nil), or with an error that
// respond renders; the status and body are ignored with an error.
type userEndpoint func(r *http.Request, caller string) (int, any, error)

// envelopeError is a refusal written as the Controller's error envelope.
type envelopeError struct {
	status  int
	name    string
	message string
}

func (e *envelopeError) Error() string { return e.name + ": " + e.message }

func envelope(status int, name, message string) error {
	return &envelopeError{status: status, name: name, message: message}
}

func invalid(message string) error {
	return envelope(http.StatusBadRequest, "ValidationError", message)
}

// deniedError is the gate's deny, written exactly as the decision says.
type deniedError struct{ d gatehouse.Decision }

func (e *deniedError) Error() string { return "denied" }

// respond runs h and writes its answer or its failure.
func (u *users) respond(w http.ResponseWriter, r *http.Request, caller string, h userEndpoint) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	code, v, err := h(r, caller)
	var env *envelopeError
	var denied *deniedError
	switch {
	case errors.As(err, &denied):
		writeDecision(w, denied.d)
	case errors.As(err, &env):
		writeEnvelope(w, env.status, env.name, env.message)
	case err != nil:
		u.fail(w, err)
	case v == nil:
		w.WriteHeader(code)
	default:
		writeJSON(w, code, v)
	}
}

// open serves h without the gate (h checks what it needs).
func (u *users) open(h userEndpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { u.respond(w, r, "", h) }
}

func (u *users) guard(fn userEndpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d := u.gate.Authorize(r); !d.Allow {
			writeDecision(w, d)
			return
		}
		u.respond(w, r, u.callerID(r), fn)
	}
}

// self guards a route on the caller's own account: a verified embedded
// access token (the gate checked it is authenticated).
func (u *users) self(fn userEndpoint) http.HandlerFunc {
	return u.guard(func(r *http.Request, caller string) (int, any, error) {
		if caller == "" {
			return 0, nil, envelope(http.StatusUnauthorized, "AuthenticationError", "Invalid credentials")
		}
		return fn(r, caller)
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

// body decodes a JSON object (empty allowed); respond limits its size.
func body(r *http.Request) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return nil, invalid("Request body must be a JSON object")
	}
	return m, nil
}

// str reads a required (or optional) string field.
func str(m map[string]json.RawMessage, key string, required bool) (string, error) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		if required {
			return "", invalid("Required field '" + key + "' is missing")
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || (required && s == "") {
		return "", invalid("Invalid format for field '" + key + "'")
	}
	return s, nil
}

// strs reads the required string fields keys of m, in order (the first
// missing or malformed one is the error).
func strs(m map[string]json.RawMessage, keys ...string) ([]string, error) {
	out := make([]string, len(keys))
	for i, k := range keys {
		s, err := str(m, k, true)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
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
func (u *users) changePassword(r *http.Request, _ string) (int, any, error) {
	m, err := body(r)
	if err != nil {
		return 0, nil, err
	}
	newPW, err := str(m, "newPassword", true)
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	if _, has := m["resetToken"]; has {
		tok, err := str(m, "resetToken", true)
		if err != nil {
			return 0, nil, err
		}
		if err := u.h.svc.ResetPassword(ctx, tok, newPW); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, ok200, nil
	}
	if d := u.gate.Authorize(r); !d.Allow {
		return 0, nil, &deniedError{d: d}
	}
	caller := u.callerID(r)
	cur, err := str(m, "currentPassword", true)
	if err != nil {
		return 0, nil, err
	}
	if caller == "" {
		return 0, nil, envelope(http.StatusUnauthorized, "InvalidCredentialsError", "Invalid credentials")
	}
	usr, err := u.st.GetUser(ctx, caller)
	if err != nil {
		return 0, nil, err
	}
	if _, _, err := u.h.svc.Accounts.CheckPassword(ctx, usr.Login, cur); err != nil {
		return 0, nil, err
	}
	if err := u.h.svc.ChangePassword(ctx, caller, newPW); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ok200, nil
}

func (u *users) mfaEnroll(r *http.Request, caller string) (int, any, error) {
	usr, err := u.st.GetUser(r.Context(), caller)
	if err != nil {
		return 0, nil, err
	}
	sec, err := u.h.svc.Accounts.StartEnrollment(r.Context(), caller)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"secret": sec, "otpauthUrl": issuer.OTPAuthURL(issuer.TOTPIssuer, usr.Login, sec)}, nil
}

func (u *users) mfaConfirm(r *http.Request, caller string) (int, any, error) {
	m, err := body(r)
	if err != nil {
		return 0, nil, err
	}
	code, err := str(m, "code", true)
	if err != nil {
		return 0, nil, err
	}
	codes, err := u.h.svc.Accounts.ConfirmEnrollment(r.Context(), caller, code)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"recoveryCodes": codes}, nil
}

func (u *users) mfaDisable(r *http.Request, caller string) (int, any, error) {
	m, err := body(r)
	if err != nil {
		return 0, nil, err
	}
	f, err := strs(m, "password", "code")
	if err != nil {
		return 0, nil, err
	}
	if err := u.h.svc.DisableMFA(r.Context(), caller, f[0], f[1]); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ok200, nil
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

func (u *users) list(r *http.Request, _ string) (int, any, error) {
	all, err := u.st.ListUsers(r.Context())
	if err != nil {
		return 0, nil, err
	}
	out := []map[string]any{}
	for _, usr := range all {
		if usr.PasswordHash == "" { // service principals (AUTH_TOKENS)
			continue
		}
		j, err := u.userJSON(r.Context(), usr)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["email"].(string), b["email"].(string)) })
	return http.StatusOK, out, nil
}

var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// groupsField reads an optional groups array and checks every name exists.
func (u *users) groupsField(r *http.Request, m map[string]json.RawMessage) ([]string, bool, error) {
	raw, has := m["groups"]
	if !has {
		return nil, false, nil
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return nil, true, invalid("Invalid format for field 'groups'")
	}
	existing, err := u.st.ListGroups(r.Context())
	if err != nil {
		return nil, true, err
	}
	var unknown []string
	for i, n := range names {
		names[i] = strings.ToLower(strings.TrimSpace(n))
		if !slices.ContainsFunc(existing, func(g gatehouse.Group) bool { return g.Name == names[i] }) {
			unknown = append(unknown, names[i])
		}
	}
	if len(unknown) > 0 {
		return nil, true, invalid("Unknown groups: " + strings.Join(unknown, ", "))
	}
	return names, true, nil
}

// emailField is a normalised email address, or a validation error.
func emailField(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if !emailPattern.MatchString(email) {
		return "", invalid("Invalid format for field 'email'")
	}
	return email, nil
}

// userConflict is the answer to an email already taken.
func userConflict(err error) error {
	if errors.Is(err, gatehouse.ErrAlreadyExists) {
		return envelope(http.StatusConflict, "ConflictError", "A user with this email already exists")
	}
	return err
}

func (u *users) create(r *http.Request, _ string) (int, any, error) {
	m, err := body(r)
	if err != nil {
		return 0, nil, err
	}
	email, err := str(m, "email", true)
	if err != nil {
		return 0, nil, err
	}
	if email, err = emailField(email); err != nil {
		return 0, nil, err
	}
	pw, err := str(m, "password", true)
	if err != nil {
		return 0, nil, err
	}
	if err := issuer.CheckPasswordPolicy(pw); err != nil {
		return 0, nil, err
	}
	groups, _, err := u.groupsField(r, m)
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	hash, err := password.Hash(pw, password.DefaultParams())
	if err != nil {
		return 0, nil, err
	}
	usr, err := u.st.CreateUser(ctx, gatehouse.User{Login: email, Email: email, PasswordHash: hash})
	if err != nil {
		return 0, nil, userConflict(err)
	}
	for _, g := range groups {
		if err := u.st.AddMember(ctx, g, usr.ID); err != nil {
			return 0, nil, err
		}
	}
	if _, err := u.h.svc.Accounts.UpdateAccount(ctx, usr.ID, func(a *issuer.Account) error { a.MustChange = true; return nil }); err != nil {
		return 0, nil, err
	}
	j, err := u.userJSON(ctx, usr)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, j, nil
}

func (u *users) get(r *http.Request, _ string) (int, any, error) {
	usr, err := u.st.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	j, err := u.userJSON(r.Context(), usr)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, j, nil
}

func (u *users) patch(r *http.Request, _ string) (int, any, error) {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := u.st.GetUser(ctx, id); err != nil {
		return 0, nil, err
	}
	m, err := body(r)
	if err != nil {
		return 0, nil, err
	}
	email, err := str(m, "email", false)
	if err != nil {
		return 0, nil, err
	}
	groups, hasGroups, err := u.groupsField(r, m)
	if err != nil {
		return 0, nil, err
	}
	if email != "" {
		if email, err = emailField(email); err != nil {
			return 0, nil, err
		}
		if _, err := u.st.UpdateUser(ctx, id, func(x *gatehouse.User) error { x.Login, x.Email = email, email; return nil }); err != nil {
			return 0, nil, userConflict(err)
		}
	}
	if hasGroups {
		have, err := u.st.GroupsOf(ctx, id)
		if err != nil {
			return 0, nil, err
		}
		for _, g := range have {
			if !slices.Contains(groups, g) {
				if err := u.st.RemoveMember(ctx, g, id); err != nil {
					return 0, nil, err
				}
			}
		}
		for _, g := range groups {
			if err := u.st.AddMember(ctx, g, id); err != nil {
				return 0, nil, err
			}
		}
	}
	return u.get(r, "")
}

func (u *users) del(r *http.Request, caller string) (int, any, error) {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := u.st.GetUser(ctx, id); err != nil {
		return 0, nil, err
	}
	acc, err := u.h.svc.Accounts.Account(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	switch {
	case acc.Bootstrap:
		return 0, nil, envelope(http.StatusForbidden, "ForbiddenError", "Bootstrap admin user cannot be deleted")
	case id == caller:
		return 0, nil, envelope(http.StatusForbidden, "ForbiddenError", "Users cannot delete their own account")
	}
	if err := u.h.svc.LogoutUser(ctx, id, ""); err != nil {
		return 0, nil, err
	}
	if err := u.st.DeleteUser(ctx, id); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (u *users) resetPassword(r *http.Request, _ string) (int, any, error) {
	id := r.PathValue("id")
	if _, err := u.st.GetUser(r.Context(), id); err != nil {
		return 0, nil, err
	}
	pw, err := u.h.svc.TemporaryPassword(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"temporaryPassword": pw, "mustChangePassword": true}, nil
}

func (u *users) resetToken(r *http.Request, _ string) (int, any, error) {
	id := r.PathValue("id")
	if _, err := u.st.GetUser(r.Context(), id); err != nil {
		return 0, nil, err
	}
	tok, err := u.h.svc.NewResetToken(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"resetToken": tok, "expiresIn": int(issuer.ResetTokenTTL.Seconds())}, nil
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

// findGroup is the group named name; a missing one is the group's 404.
func (u *users) findGroup(ctx context.Context, name string) (gatehouse.Group, error) {
	all, err := u.st.ListGroups(ctx)
	if err != nil {
		return gatehouse.Group{}, groupNotFound(err)
	}
	for _, g := range all {
		if g.Name == name {
			return g, nil
		}
	}
	return gatehouse.Group{}, groupNotFound(gatehouse.ErrNotFound)
}

// groupNotFound answers a missing group with the group's 404.
func groupNotFound(err error) error {
	if errors.Is(err, gatehouse.ErrNotFound) {
		return envelope(http.StatusNotFound, "NotFoundError", "Group not found")
	}
	return err
}

func (u *users) listGroups(r *http.Request, _ string) (int, any, error) {
	all, err := u.st.ListGroups(r.Context())
	if err != nil {
		return 0, nil, err
	}
	out := []map[string]any{}
	for _, g := range all {
		j, err := u.groupJSON(r.Context(), g)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, j)
	}
	return http.StatusOK, out, nil
}

// mfaField reads an optional boolean mfaRequired.
func mfaField(m map[string]json.RawMessage) (*bool, error) {
	raw, ok := m["mfaRequired"]
	if !ok {
		return nil, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, invalid("mfaRequired must be a boolean")
	}
	return &b, nil
}

func (u *users) createGroup(r *http.Request, _ string) (int, any, error) {
	m, err := body(r)
	if err != nil {
		return 0, nil, err
	}
	name, err := str(m, "name", true)
	if err != nil {
		return 0, nil, err
	}
	mfa, err := mfaField(m)
	if err != nil {
		return 0, nil, err
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if slices.Contains(issuer.SystemGroups, name) {
		return 0, nil, envelope(http.StatusConflict, "ConflictError", "A system group with this name already exists")
	}
	ctx := r.Context()
	g, err := u.st.CreateGroup(ctx, name)
	if errors.Is(err, gatehouse.ErrAlreadyExists) {
		return 0, nil, envelope(http.StatusConflict, "ConflictError", "A group with this name already exists")
	}
	if err != nil {
		return 0, nil, err
	}
	if err := u.h.svc.Accounts.SetGroup(ctx, name, issuer.GroupSettings{MFARequired: mfa != nil && *mfa}); err != nil {
		return 0, nil, err
	}
	j, err := u.groupJSON(ctx, g)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, j, nil
}

func (u *users) getGroup(r *http.Request, _ string) (int, any, error) {
	g, err := u.findGroup(r.Context(), strings.ToLower(r.PathValue("name")))
	if err != nil {
		return 0, nil, err
	}
	j, err := u.groupJSON(r.Context(), g)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, j, nil
}

func (u *users) patchGroup(r *http.Request, _ string) (int, any, error) {
	ctx := r.Context()
	g, err := u.findGroup(ctx, strings.ToLower(r.PathValue("name")))
	if err != nil {
		return 0, nil, err
	}
	m, err := body(r)
	if err != nil {
		return 0, nil, err
	}
	mfa, err := mfaField(m)
	if err != nil {
		return 0, nil, err
	}
	newName, err := str(m, "name", false)
	if err != nil {
		return 0, nil, err
	}
	newName = strings.ToLower(strings.TrimSpace(newName))
	if mfa == nil && newName == "" {
		return 0, nil, invalid("At least one of name or mfaRequired is required")
	}
	settings, err := u.h.svc.Accounts.Group(ctx, g.Name)
	if err != nil {
		return 0, nil, err
	}
	system := settings.System || slices.Contains(issuer.SystemGroups, g.Name)
	if newName != "" && newName != g.Name {
		if system {
			return 0, nil, envelope(http.StatusForbidden, "ForbiddenError", "System group names cannot be changed")
		}
		return 0, nil, invalid("Renaming a group is not supported; create a new group")
	}
	if mfa != nil {
		settings.MFARequired = *mfa
		settings.System = system
		if err := u.h.svc.Accounts.SetGroup(ctx, g.Name, settings); err != nil {
			return 0, nil, err
		}
	}
	return u.getGroup(r, "")
}

func (u *users) deleteGroup(r *http.Request, _ string) (int, any, error) {
	ctx := r.Context()
	name := strings.ToLower(r.PathValue("name"))
	if _, err := u.findGroup(ctx, name); err != nil {
		return 0, nil, err
	}
	if slices.Contains(issuer.SystemGroups, name) {
		return 0, nil, envelope(http.StatusForbidden, "ForbiddenError", "System groups cannot be deleted")
	}
	if err := u.st.DeleteGroup(ctx, name); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
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
