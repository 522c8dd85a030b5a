// Package authn turns the credential a request carries into an identity: it
// parses the Authorization header (and a WebSocket's ?token=), picks the
// authenticator for the credential's shape and the route (Chain), and caches
// verified identities by credential digest (Cached).
//
// Each credential kind lives in its own subpackage (jwt, and later apitoken,
// basic, agent, peer) behind gatehouse.Authenticator; this package knows none
// of them. It imports the domain package, internal/secret and golang-lru.
package authn
