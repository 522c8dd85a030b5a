// Package issuer is Gatehouse's embedded OpenID Connect issuer without its
// HTTP door: signing keys kept in the store sealed with AUTH_ENCRYPTION_KEY
// (KeyRing), local accounts with password policy, lockout and TOTP MFA
// (Accounts), and the token service — authorization codes, refresh token
// families with rotation and reuse detection, access and ID tokens
// (Service). server/oidc serves it over HTTP; login/embedded adapts it to
// the REST login routes.
package issuer
