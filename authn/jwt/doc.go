// Package jwt verifies bearer JWT access tokens from trusted OpenID issuers
// and turns their claims into a gatehouse.Identity (no group mapping: that is
// policy).
//
// It is built from jwx v3 building blocks instead of jwt.Parse: the header and
// payload are decoded once, each JWKS key is converted to its raw public key
// once per fetch, and the signature is checked with jws/jwsbb on that raw key.
// Every refusal a test can name is refused here explicitly (algorithm
// allow-lists per verifier and per key, crit, b64, header-embedded keys,
// exp/nbf/aud/token_use) rather than trusted to library defaults.
//
// Keys come from a KeySource: RemoteKeySource (OIDC discovery, JWKS cached
// and refreshed in the background, rate-limited refetch on an unknown kid) or
// a static key set for the embedded issuer.
//
// It imports the domain package, internal/secret, jwx and x/sync.
package jwt
