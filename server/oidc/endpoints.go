package oidc

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	"github.com/gatehouse-authz/gatehouse/issuer"
)

// serveAuthorize validates an authorization request and sends the browser
// to the login interaction. Errors about the client or the redirect URI are
// shown, never redirected (AC-05); the others go back to the client.
func (h *Handler) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, http.StatusBadRequest, "The authorization request is malformed.")
		return
	}
	q := r.Form
	for _, p := range []string{"request", "request_uri"} {
		if q.Get(p) != "" {
			h.errorPage(w, http.StatusBadRequest, "Request objects are not supported.")
			return
		}
	}
	client, err := h.o.Clients.GetClient(r.Context(), q.Get("client_id"))
	if errors.Is(err, gatehouse.ErrNotFound) || q.Get("client_id") == "" {
		h.errorPage(w, http.StatusBadRequest, "Unknown client.")
		return
	}
	if err != nil {
		h.log.Error("authorize: client lookup", "err", err)
		h.errorPage(w, http.StatusServiceUnavailable, "The sign-in service is temporarily unavailable.")
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" && len(client.RedirectURIs) == 1 {
		redirect = client.RedirectURIs[0]
	}
	if !slices.Contains(client.RedirectURIs, redirect) {
		h.errorPage(w, http.StatusBadRequest, "The redirect_uri is not registered for this client.")
		return
	}
	back := func(code, desc string) {
		http.Redirect(w, r, issuer.RedirectWith(redirect, url.Values{
			"error": {code}, "error_description": {desc}, "state": {q.Get("state")}, "iss": {h.issuer},
		}), http.StatusFound)
	}
	rt := q.Get("response_type")
	switch {
	case rt == "":
		back("invalid_request", "response_type is required")
		return
	case rt != "code" || (len(client.ResponseTypes) > 0 && !slices.Contains(client.ResponseTypes, "code")):
		back("unsupported_response_type", "only the code response type is supported for this client")
		return
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		back("invalid_request", "only response_mode=query is supported")
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && client.Public:
		back("invalid_request", "PKCE (code_challenge with S256) is required for public clients")
		return
	case challenge != "" && method != "S256":
		back("invalid_request", "code_challenge_method must be S256")
		return
	case challenge != "" && (len(challenge) < 43 || len(challenge) > 128):
		back("invalid_request", "code_challenge must be 43 to 128 characters")
		return
	}
	age, ok := maxAge(q.Get("max_age"))
	if !ok {
		back("invalid_request", "max_age must be a non-negative integer")
		return
	}
	areq := issuer.AuthRequest{
		ClientID: client.ClientID, RedirectURI: redirect, Scope: normalizeScope(q.Get("scope")),
		State: q.Get("state"), Nonce: q.Get("nonce"), Challenge: challenge,
	}
	prompt := strings.Fields(q.Get("prompt"))
	if !slices.Contains(prompt, "login") {
		answered, err := h.resume(w, r, areq, age)
		if err != nil {
			h.log.Error("authorize: resume session", "err", err)
			back("server_error", "")
			return
		}
		if answered {
			return
		}
	}
	if slices.Contains(prompt, "none") {
		back("login_required", "interactive login is required")
		return
	}
	in, err := h.svc.StartInteraction(r.Context(), areq)
	if err != nil {
		h.log.Error("authorize: start interaction", "err", err)
		back("server_error", "")
		return
	}
	http.Redirect(w, r, h.interactionURL(in.UID), http.StatusSeeOther)
}

// normalizeScope keeps the scopes the issuer knows, in a fixed order.
func normalizeScope(s string) string {
	known := []string{"openid", "profile", "email", "groups", "offline_access"}
	asked := strings.Fields(s)
	var out []string
	for _, k := range known {
		if slices.Contains(asked, k) {
			out = append(out, k)
		}
	}
	return strings.Join(out, " ")
}

func (h *Handler) interactionURL(uid string) string {
	if h.o.InteractionURL == "" {
		return h.issuer + "/interaction/" + url.PathEscape(uid)
	}
	return issuer.RedirectWith(h.o.InteractionURL, url.Values{"interaction": {uid}})
}

// authClient authenticates the client of a token or revocation request:
// client_secret_basic, client_secret_post, or none for public clients.
func (h *Handler) authClient(r *http.Request) (gatehouse.Client, *oauthError) {
	id, sec, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		sec, err2 = url.QueryUnescape(sec)
		if err1 != nil || err2 != nil {
			return gatehouse.Client{}, &oauthError{http.StatusUnauthorized, "invalid_client", "malformed client credentials"}
		}
		if r.PostForm.Get("client_secret") != "" {
			return gatehouse.Client{}, &oauthError{http.StatusBadRequest, "invalid_request", "one client authentication method only"}
		}
		if fid := r.PostForm.Get("client_id"); fid != "" && fid != id {
			return gatehouse.Client{}, &oauthError{http.StatusBadRequest, "invalid_request", "client_id does not match the authenticated client"}
		}
	} else {
		id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	fail := &oauthError{http.StatusUnauthorized, "invalid_client", "client authentication failed"}
	if id == "" {
		return gatehouse.Client{}, fail
	}
	c, err := h.o.Clients.GetClient(r.Context(), id)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return c, fail
	}
	if err != nil {
		h.log.Error("token: client lookup", "err", err)
		return c, &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", ""}
	}
	if c.Public {
		if sec != "" {
			return c, fail
		}
		return c, nil
	}
	if sec == "" || c.SecretHash == "" {
		return c, fail
	}
	if ok, _ := password.Verify(c.SecretHash, sec); !ok {
		return c, fail
	}
	return c, nil
}

// serveToken is the token endpoint.
func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "malformed body"})
		return
	}
	for k, vs := range r.PostForm {
		if len(vs) > 1 {
			writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "parameter " + k + " repeated"})
			return
		}
	}
	f := r.PostForm
	grant := f.Get("grant_type")
	if grant == "" {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "grant_type is required"})
		return
	}
	client, oe := h.authClient(r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	ctx := r.Context()
	var (
		toks issuer.Tokens
		err  error
	)
	switch grant {
	case "authorization_code":
		if f.Get("code") == "" {
			writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "code is required"})
			return
		}
		if client.Public && f.Get("code_verifier") == "" {
			writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "code_verifier is required for public clients"})
			return
		}
		toks, err = h.svc.ExchangeCode(ctx, f.Get("code"), client.ClientID, f.Get("redirect_uri"), f.Get("code_verifier"))
	case "refresh_token":
		if f.Get("refresh_token") == "" {
			writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "refresh_token is required"})
			return
		}
		toks, err = h.svc.Refresh(ctx, f.Get("refresh_token"), client.ClientID)
	case "password":
		if client.Public {
			writeOAuthError(w, &oauthError{http.StatusBadRequest, "unauthorized_client", "the password grant needs a confidential client"})
			return
		}
		if f.Get("username") == "" || f.Get("password") == "" {
			writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "username and password are required"})
			return
		}
		var u gatehouse.User
		u, _, err = h.svc.Accounts.PasswordLogin(ctx, f.Get("username"), f.Get("password"), f.Get("totp"))
		if errors.Is(err, issuer.ErrInvalidCredentials) {
			err = issuer.ErrInvalidGrant
		}
		if err == nil {
			scope := normalizeScope(f.Get("scope"))
			toks, err = h.svc.Issue(ctx, issuer.Grant{UserID: u.ID, ClientID: client.ClientID, Scope: scope, NoIDToken: !strings.Contains(" "+scope+" ", " openid ")})
		}
	default:
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "unsupported_grant_type", "supported: authorization_code, refresh_token, password"})
		return
	}
	if errors.Is(err, issuer.ErrInvalidGrant) {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_grant", "the grant is invalid, expired, revoked or was issued to another client"})
		return
	}
	if err != nil {
		h.log.Error("token endpoint", "grant", grant, "err", err)
		writeOAuthError(w, &oauthError{http.StatusInternalServerError, "server_error", ""})
		return
	}
	resp := map[string]any{
		"access_token": toks.AccessToken,
		"token_type":   "Bearer",
		"expires_in":   int(toks.ExpiresIn.Seconds()),
	}
	if toks.Scope != "" {
		resp["scope"] = toks.Scope
	}
	if toks.RefreshToken != "" {
		resp["refresh_token"] = toks.RefreshToken
	}
	if toks.IDToken != "" {
		resp["id_token"] = toks.IDToken
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// serveUserInfo answers the claims of a valid access token's user.
func (h *Handler) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	deny := func(desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": desc})
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok && r.Method == http.MethodPost {
		_ = r.ParseForm()
		tok = r.PostForm.Get("access_token")
	}
	if tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": "no access token"})
		return
	}
	claims, err := h.svc.Verify(strings.TrimSpace(tok), issuer.VerifyOptions{Typ: "at+jwt", Audience: h.svc.Config().Audience})
	if err != nil {
		deny("the access token is invalid or expired")
		return
	}
	sub, _ := claims["sub"].(string)
	info, err := h.svc.UserInfo(r.Context(), sub, scopeOf(claims))
	if err != nil {
		deny("the user no longer exists")
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func scopeOf(claims map[string]any) string {
	s, _ := claims["scope"].(string)
	return s
}

// serveRevoke is RFC 7009 revocation: refresh tokens revoke their whole
// family; access tokens are self-contained JWTs and expire on their own.
// The answer is 200 whatever the token was.
func (h *Handler) serveRevoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "malformed body"})
		return
	}
	client, oe := h.authClient(r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "token is required"})
		return
	}
	if hint := r.PostForm.Get("token_type_hint"); hint != "" && hint != "refresh_token" && hint != "access_token" {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "unsupported_token_type", ""})
		return
	}
	if err := h.svc.RevokeRefresh(r.Context(), tok, client.ClientID); err != nil {
		h.log.Error("revoke", "err", err)
		writeOAuthError(w, &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", ""})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// serveEndSession is RP-initiated logout: it ends the session named by the
// ID token hint (its refresh tokens are revoked) and redirects only to a
// post-logout URI registered for the client (AC-05).
func (h *Handler) serveEndSession(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, http.StatusBadRequest, "The logout request is malformed.")
		return
	}
	q := r.Form
	clientID := q.Get("client_id")
	var sub, sid string
	if hint := q.Get("id_token_hint"); hint != "" {
		claims, err := h.svc.Verify(hint, issuer.VerifyOptions{AllowExpired: true})
		if err != nil {
			h.errorPage(w, http.StatusBadRequest, "The id_token_hint is not valid.")
			return
		}
		sub, _ = claims["sub"].(string)
		sid, _ = claims["sid"].(string)
		aud := audiences(claims["aud"])
		if clientID == "" && len(aud) == 1 {
			clientID = aud[0]
		}
		if clientID != "" && !slices.Contains(aud, clientID) {
			h.errorPage(w, http.StatusBadRequest, "The id_token_hint was issued to another client.")
			return
		}
	}
	post := q.Get("post_logout_redirect_uri")
	if post != "" {
		c, err := h.o.Clients.GetClient(r.Context(), clientID)
		if err != nil || !slices.Contains(c.PostLogoutRedirectURIs, post) {
			h.errorPage(w, http.StatusBadRequest, "The post_logout_redirect_uri is not registered for this client.")
			return
		}
	}
	if sub != "" {
		if err := h.svc.LogoutUser(r.Context(), sub, sid); err != nil {
			h.log.Error("end session", "err", err)
			h.errorPage(w, http.StatusServiceUnavailable, "The sign-in service is temporarily unavailable.")
			return
		}
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := h.svc.EndSession(r.Context(), c.Value); err != nil {
			h.log.Error("end session", "err", err)
			h.errorPage(w, http.StatusServiceUnavailable, "The sign-in service is temporarily unavailable.")
			return
		}
	}
	h.clearSession(w)
	if post != "" {
		http.Redirect(w, r, issuer.RedirectWith(post, url.Values{"state": {q.Get("state")}}), http.StatusSeeOther)
		return
	}
	h.page(w, http.StatusOK, pageData{Title: "Signed out", Message: "You are signed out."})
}

func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return a
	}
	return nil
}
