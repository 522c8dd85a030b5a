// Package extauthz is the Envoy door: envoy.service.auth.v3.Authorization.
// request.go turns a CheckRequest into a gatehouse.Request, response.go turns
// a gatehouse.Decision into a CheckResponse; service.go only connects the two
// to the decision core. Every decision, deny included, is an ordinary
// CheckResponse, so an Envoy configured with failure_mode_allow stays closed.
package extauthz
