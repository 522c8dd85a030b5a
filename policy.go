package gatehouse

// PolicyInput is what the decision core hands to the policy engine; the engine
// renders it as the Rego document input {request, identity, route}.
type PolicyInput struct {
	Request  *Request
	Identity *Identity
	Route    RouteMatch
}

// PolicyResult is data.gatehouse.authz.decision, decoded strictly.
type PolicyResult struct {
	Allow  bool
	Status int
	Reason Reason
	// Headers are extra headers: upstream on allow, for the client on deny.
	Headers []Header
	// Body, when the policy sets one, replaces the default deny body (JSON).
	Body []byte
	// Subject and Groups are the effective identity the policy mapped from
	// the credential (claims → subject and groups for JWTs).
	Subject string
	Groups  []string
}
