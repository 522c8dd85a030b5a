package oidc

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Gate authorizes a REST request with the decision core (the route's
// catalog permission). It returns the decision; a deny carries its status
// and body.
type Gate interface {
	Authorize(r *http.Request) gatehouse.Decision
}

// AdminStore is what the embedded admin routes read.
type AdminStore interface {
	ListUsers(ctx context.Context) ([]gatehouse.User, error)
	ListGroups(ctx context.Context) ([]gatehouse.Group, error)
	GroupsOf(ctx context.Context, userID string) ([]string, error)
}

// RegisterAdmin mounts the embedded-only admin routes: key rotation (IS-04,
// IS-05) and migration export (IS-06), each behind gate.
func (h *Handler) RegisterAdmin(mux *http.ServeMux, gate Gate, st AdminStore) {
	guard := func(fn http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if d := gate.Authorize(r); !d.Allow {
				for _, hd := range d.Response {
					w.Header().Set(hd.Name, hd.Value)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(d.Status)
				_, _ = w.Write(d.Body)
				return
			}
			fn(w, r)
		}
	}
	mux.HandleFunc("POST /api/v3/auth/jwks/rotate", guard(h.serveRotate))
	mux.HandleFunc("POST /api/v3/auth/migration/export", guard(func(w http.ResponseWriter, r *http.Request) {
		h.serveExport(w, r, st)
	}))
}

// RegisterAdminExternal answers the embedded-only admin routes in external
// mode: 501 after the gate passed (UA-09).
func RegisterAdminExternal(mux *http.ServeMux, gate Gate) {
	nope := func(w http.ResponseWriter, r *http.Request) {
		if d := gate.Authorize(r); !d.Allow {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(d.Status)
			_, _ = w.Write(d.Body)
			return
		}
		writeEnvelope(w, http.StatusNotImplemented, "NotImplementedError", "This endpoint is only available in embedded auth mode")
	}
	mux.HandleFunc("POST /api/v3/auth/jwks/rotate", nope)
	mux.HandleFunc("POST /api/v3/auth/migration/export", nope)
}

// serveRotate rotates the signing key. Unlike the Controller, the new key
// signs at once on every replica and the old one stays published until
// its tokens expire, so no restart is required.
func (h *Handler) serveRotate(w http.ResponseWriter, r *http.Request) {
	kid, at, err := h.svc.Keys().Rotate(r.Context())
	if err != nil {
		h.log.Error("jwks rotate", "err", err)
		writeEnvelope(w, http.StatusInternalServerError, "InternalServerError", "Key rotation failed")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"kid": kid, "rotatedAt": at.UTC().Format(time.RFC3339Nano), "restartRequired": false})
}

// serveExport is IS-06: users and groups for a move to an external IdP,
// without password hashes, TOTP secrets or recovery codes.
func (h *Handler) serveExport(w http.ResponseWriter, r *http.Request, st AdminStore) {
	ctx := r.Context()
	users, err := st.ListUsers(ctx)
	if err != nil {
		h.apiError(w, err)
		return
	}
	groups, err := st.ListGroups(ctx)
	if err != nil {
		h.apiError(w, err)
		return
	}
	type user struct {
		ID     string   `json:"id"`
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	type group struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		IsSystem bool   `json:"isSystem"`
	}
	out := struct {
		ExportedAt string  `json:"exportedAt"`
		AuthMode   string  `json:"authMode"`
		Users      []user  `json:"users"`
		Groups     []group `json:"groups"`
	}{ExportedAt: time.Now().UTC().Format(time.RFC3339Nano), AuthMode: "embedded", Users: []user{}, Groups: []group{}}
	for _, u := range users {
		if u.PasswordHash == "" { // service principals (AUTH_TOKENS) are not people
			continue
		}
		gs, err := st.GroupsOf(ctx, u.ID)
		if err != nil {
			h.apiError(w, err)
			return
		}
		email := u.Email
		if email == "" {
			email = u.Login
		}
		out.Users = append(out.Users, user{ID: u.ID, Email: email, Groups: nonNilStrings(gs)})
	}
	for _, g := range groups {
		out.Groups = append(out.Groups, group{ID: g.Name, Name: g.Name, IsSystem: slices.Contains([]string{"admin", "sre", "developer", "viewer"}, g.Name)})
	}
	writeJSON(w, http.StatusOK, out)
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
