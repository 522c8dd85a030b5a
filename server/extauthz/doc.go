// Package extauthz is the Envoy door: envoy.service.auth.v3.Authorization.
// request.go turns a CheckRequest into a gatehouse.Request, response.go turns
// a gatehouse.Decision into a CheckResponse; service.go only connects the two
// to the decision core. Every decision, deny included, is an ordinary
// CheckResponse, so an Envoy configured with failure_mode_allow stays closed.
//
// Over gRPC, requests skip the generated CheckRequest: wire.go decodes the
// fields the decision reads straight into a gatehouse.Request (message.go
// plugs it into gRPC's codec for this service only). The strings of such a
// request share one copy of the received message, so code that keeps one
// past Decide (a map key, say) should strings.Clone it, or it keeps the
// whole message (a few KB) alive with it.
package extauthz
