// Package grpcapi is the gatehouse.v1 door: AuthService for services that ask
// for their own decisions (and, in later versions, login and token issuing),
// plus the interceptors every gRPC service shares. check.go converts between
// the wire messages and the decision core; it holds no decision logic.
package grpcapi
