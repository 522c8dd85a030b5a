package decision

import (
	"encoding/json"

	"github.com/gatehouse-authz/gatehouse"
)

// family is the ecosystem whose deny-body shape a caller expects, chosen by
// the credential it sent (DESIGN.md's deny-body table).
type family int

const (
	familyController family = iota // bearer or none: the Controller's RBAC envelope
	familyDRF                      // Token or Basic: Django REST framework's {"detail"}
	familyAgent                    // agent routes: AgentAuthenticationError
)

func familyOf(cred gatehouse.Credential, route gatehouse.RouteMatch) family {
	for _, k := range route.Credentials {
		if k == gatehouse.KindAgent {
			return familyAgent
		}
	}
	switch cred.Scheme {
	case gatehouse.SchemeToken, gatehouse.SchemeBasic:
		return familyDRF
	}
	return familyController
}

// Caller-facing messages. The details of a refusal go to the log only.
const (
	msgUnauthorized   = "Unauthorized: No authentication information found"
	msgForbidden      = "Authorization denied: You do not have permission to perform this action. Please contact your administrator."
	msgPasswordChange = "Password change required before accessing this resource"
	msgUnavailable    = "Authorization is temporarily unavailable"
	drfNoCredentials  = "Authentication credentials were not provided."
	drfForbidden      = "You do not have permission to perform this action."
	drfInvalidToken   = "Invalid token."
	drfInvalidBasic   = "Invalid username/password."
	agentUnauthorized = "Agent authentication failed"
	agentNoHeader     = "Authorization header required"
)

type controllerBody struct {
	Error      string `json:"error"`
	Message    string `json:"message,omitempty"`
	Reason     string `json:"reason"`
	DecisionID string `json:"decisionId"`
}

type drfBody struct {
	Detail     string `json:"detail"`
	Reason     string `json:"reason"`
	DecisionID string `json:"decisionId"`
}

type agentBody struct {
	Name       string `json:"name"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	Retryable  bool   `json:"retryable"`
	Reason     string `json:"reason"`
	DecisionID string `json:"decisionId"`
}

func denyBody(fam family, status int, reason gatehouse.Reason, ae *gatehouse.AuthError, dec *gatehouse.Decision, cred gatehouse.Credential) []byte {
	var v any
	switch fam {
	case familyAgent:
		b := agentBody{Name: "AgentAuthenticationError", Code: gatehouse.CodeAgentAuthHeaderInvalid, Message: agentUnauthorized, Reason: string(reason), DecisionID: dec.ID}
		if ae != nil && ae.Code != "" {
			b.Code = ae.Code
		}
		if ae != nil && ae.Message != "" {
			b.Message = ae.Message
		} else if reason == gatehouse.ReasonNoCredential {
			b.Message = agentNoHeader
		}
		if status >= 500 {
			b = agentBody{Name: "ServiceUnavailableError", Code: gatehouse.CodeControllerAuthVerificationFailed, Message: msgUnavailable, Retryable: true, Reason: string(reason), DecisionID: dec.ID}
			if ae != nil && ae.Code != "" {
				b.Code = ae.Code
			}
			if ae != nil && ae.Message != "" {
				b.Message = ae.Message
			}
		} else if status == 403 {
			b.Message = msgForbidden
		}
		v = b
	case familyDRF:
		b := drfBody{Detail: drfForbidden, Reason: string(reason), DecisionID: dec.ID}
		switch {
		case status >= 500:
			return denyBody(familyController, status, reason, ae, dec, cred)
		case status == 401 && ae != nil && ae.Message != "":
			b.Detail = ae.Message
		case status == 401 && reason == gatehouse.ReasonNoCredential:
			b.Detail = drfNoCredentials
		case status == 401 && cred.Scheme == gatehouse.SchemeBasic:
			b.Detail = drfInvalidBasic
		case status == 401:
			b.Detail = drfInvalidToken
		}
		v = b
	default:
		switch {
		case status >= 500:
			v = controllerBody{Error: "Service Unavailable", Message: msgUnavailable, Reason: string(reason), DecisionID: dec.ID}
		case status == 401:
			v = controllerBody{Error: msgUnauthorized, Reason: string(reason), DecisionID: dec.ID}
		case reason == gatehouse.ReasonPasswordChangeRequired:
			v = controllerBody{Error: "Forbidden", Message: msgPasswordChange, Reason: string(reason), DecisionID: dec.ID}
		default:
			v = controllerBody{Error: "Forbidden", Message: msgForbidden, Reason: string(reason), DecisionID: dec.ID}
		}
	}
	b, err := json.Marshal(v)
	if err != nil { // cannot happen with these types; a bodiless deny is still a deny
		return nil
	}
	return b
}

// wwwAuthenticate names the scheme the caller should use (RFC 9110 §11.6.1),
// with RFC 6750's error code for a bearer that was presented but refused.
func wwwAuthenticate(fam family, cred gatehouse.Credential, reason gatehouse.Reason) string {
	switch {
	case fam == familyDRF && cred.Scheme == gatehouse.SchemeBasic:
		return `Basic realm="api"`
	case fam == familyDRF:
		return "Token"
	case fam == familyAgent:
		return `Bearer realm="agent"`
	case cred.Present() && reason != gatehouse.ReasonNoCredential:
		return `Bearer realm="gatehouse", error="invalid_token"`
	}
	return `Bearer realm="gatehouse"`
}
