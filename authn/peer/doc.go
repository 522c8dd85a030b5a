// Package peer authenticates the instances of a cluster to each other with
// short-lived HS256 tokens made from a shared secret (HORAO's PEER_SECRET
// scheme, hardened), and signs such requests for Go clients.
//
// The receiving side (Authenticator) checks, in this order: the request's
// source address against PEERS (exact IP, CIDR range, or the cached
// addresses of a host name — never a substring test), the token's shape and
// HS256 signature under any configured secret, iat/exp/nbf and the lifetime,
// the peer claim against the origin's configured identity and the local
// HOST_ID, the optional request binding (htm, htp, hbs), and finally the
// jti against a ReplayGuard. The sending side (Signer, Transport) produces
// tokens the Authenticator accepts. docs/peer-auth.md specifies the format.
//
// It imports the domain package and the standard library only, so clients
// can use the signer without pulling in the server.
package peer
