package gatehouse

// Reason is a stable, machine-readable code saying why a decision came out as
// it did. Codes are part of the API: they appear in deny bodies, in the
// x-gatehouse-reason header, in logs and metrics, and never change meaning.
type Reason string

// Allow reasons.
const (
	ReasonPermitted     Reason = "PERMITTED"      // the identity's roles grant the route's verb
	ReasonPublicRoute   Reason = "PUBLIC_ROUTE"   // the route needs no credential
	ReasonAuthenticated Reason = "AUTHENTICATED"  // the route needs any valid identity
	ReasonPolicyAllowed Reason = "POLICY_ALLOWED" // a custom policy allowed without a reason
)

// Authentication failures (401).
const (
	ReasonNoCredential          Reason = "NO_CREDENTIAL"
	ReasonCredentialMalformed   Reason = "CREDENTIAL_MALFORMED"
	ReasonCredentialUnsupported Reason = "CREDENTIAL_UNSUPPORTED"
	ReasonCredentialTooLarge    Reason = "CREDENTIAL_TOO_LARGE"
	ReasonTokenMalformed        Reason = "TOKEN_MALFORMED"
	ReasonTokenAlgorithm        Reason = "TOKEN_ALGORITHM_NOT_ALLOWED"
	ReasonTokenCritical         Reason = "TOKEN_CRITICAL_HEADER_UNSUPPORTED"
	ReasonTokenKeyUnknown       Reason = "TOKEN_KEY_UNKNOWN"
	ReasonTokenSignature        Reason = "TOKEN_SIGNATURE_INVALID"
	ReasonTokenIssuer           Reason = "TOKEN_ISSUER_UNTRUSTED"
	ReasonTokenAudience         Reason = "TOKEN_AUDIENCE_MISMATCH"
	ReasonTokenExpired          Reason = "TOKEN_EXPIRED"
	ReasonTokenNoExpiry         Reason = "TOKEN_EXPIRY_MISSING"
	ReasonTokenNotYetValid      Reason = "TOKEN_NOT_YET_VALID"
	ReasonTokenUse              Reason = "TOKEN_USE_INVALID"
	ReasonTokenRevoked          Reason = "TOKEN_REVOKED"
	ReasonCredentialInvalid     Reason = "CREDENTIAL_INVALID" // unknown API token, wrong password
	ReasonUserInactive          Reason = "USER_INACTIVE"
	ReasonWrongCredentialKind   Reason = "CREDENTIAL_KIND_NOT_ACCEPTED"
	ReasonTokenLifetime         Reason = "TOKEN_LIFETIME_TOO_LONG" // exp - iat (or exp - now) beyond the allowed lifetime
	ReasonTokenReplayed         Reason = "TOKEN_REPLAYED"          // a single-use jti seen before
)

// Authorization failures (403, or 401 for an anonymous caller).
const (
	ReasonForbidden              Reason = "PERMISSION_DENIED"
	ReasonRouteNotFound          Reason = "ROUTE_NOT_IN_CATALOG"
	ReasonPasswordChangeRequired Reason = "PASSWORD_CHANGE_REQUIRED"
)

// Internal failures (503): Gatehouse could not decide, so it denies.
const (
	ReasonPolicyError      Reason = "POLICY_ERROR"
	ReasonKeysUnavailable  Reason = "KEYS_UNAVAILABLE"
	ReasonStoreUnavailable Reason = "STORE_UNAVAILABLE"
	ReasonDeadline         Reason = "DEADLINE_EXCEEDED"
	ReasonInternal         Reason = "INTERNAL_ERROR"
)

// Peer authentication failures (401), HORAO-style cluster peers.
const (
	ReasonTokenClaimMissing    Reason = "TOKEN_CLAIM_MISSING"     // iat, jti or peer absent
	ReasonPeerOriginNotAllowed Reason = "PEER_ORIGIN_NOT_ALLOWED" // source address not in PEERS
	ReasonPeerIdentityMismatch Reason = "PEER_IDENTITY_MISMATCH"  // peer claim is not the origin's identity, or is HOST_ID
	ReasonPeerRequestMismatch  Reason = "PEER_REQUEST_MISMATCH"   // htm, htp or hbs differ from the request
	ReasonPeerRequestUnsigned  Reason = "PEER_REQUEST_NOT_SIGNED" // signed requests required, token binds none
)

// Agent authentication failures (401), field agents' JWTs.
const (
	ReasonAgentUnknown     Reason = "AGENT_UNKNOWN"       // sub names no agent
	ReasonAgentKeyNotFound Reason = "AGENT_KEY_NOT_FOUND" // the agent has not provisioned a key yet
)

// Codes of the Controller v3.8's agent deny body (AuthError.Code), from its
// src/helpers/agent-auth-error-codes.js: AGENT_* are refusals (401, not
// retryable), CONTROLLER_* failures to decide (503, retryable). Only the
// codes Gatehouse emits are declared.
const (
	CodeAgentAuthHeaderInvalid           = "AGENT_AUTH_HEADER_INVALID"
	CodeAgentJWTMalformed                = "AGENT_JWT_MALFORMED"
	CodeAgentJWTMissingSubject           = "AGENT_JWT_MISSING_SUBJECT"
	CodeAgentJWTSignatureInvalid         = "AGENT_JWT_SIGNATURE_INVALID"
	CodeAgentJWTExpired                  = "AGENT_JWT_EXPIRED"
	CodeAgentJWTAlreadyUsed              = "AGENT_JWT_ALREADY_USED"
	CodeAgentFogNotFound                 = "AGENT_FOG_NOT_FOUND"
	CodeAgentPublicKeyNotFound           = "AGENT_PUBLIC_KEY_NOT_FOUND"
	CodeControllerDBUnavailable          = "CONTROLLER_DB_UNAVAILABLE"
	CodeControllerAuthVerificationFailed = "CONTROLLER_AUTH_VERIFICATION_FAILED"
)
