// Package forwardauth is the door for proxies that ask over HTTP instead of
// gRPC ext_authz: Envoy's HTTP ext_authz service (the original request sent
// to /ext_authz/<path>), and the "forward auth" subrequests of nginx
// (auth_request), Traefik (ForwardAuth) and Caddy (forward_auth) sent to
// /forward-auth with the original method, URI and host in X-Forwarded-* or
// X-Original-* headers.
//
// request.go turns the HTTP request into a gatehouse.Request, response.go
// writes a gatehouse.Decision back: 200 with the identity headers on allow,
// the decision's status, headers and body on deny. Those headers describe
// the original request, so the door answers only peers listed as trusted
// proxies; anyone else gets 403 without a decision.
//
// It imports the domain package only; the decision core is handed in.
package forwardauth
