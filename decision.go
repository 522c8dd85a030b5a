package gatehouse

// Header is one HTTP header name and value. Names are lower case.
type Header struct {
	Name  string
	Value string
}

// Decision is the answer to one request. Every outcome, allow or deny, is a
// Decision; doors never turn a deny into a transport error.
type Decision struct {
	Allow bool
	// Status is the HTTP status the client should see: 200 on allow, the
	// deny status otherwise (401, 403, 503, ...).
	Status int
	Reason Reason
	// ID identifies this decision in logs and in the x-gatehouse-decision-id
	// header.
	ID string
	// Subject, Groups and Kind are the effective identity after policy mapping.
	Subject string
	Groups  []string
	Kind    IdentityKind
	// Upstream holds headers to add to the request forwarded upstream (allow).
	Upstream []Header
	// RemoveUpstream lists request header names to strip before forwarding,
	// so a client cannot spoof the identity headers.
	RemoveUpstream []string
	// Response holds headers for the client (deny), e.g. WWW-Authenticate.
	Response []Header
	// Body is the deny body sent to the client, JSON.
	Body []byte
	// Route is the catalog route the request resolved to, for logs.
	Route RouteMatch
}

// RouteMatch is the catalog entry a request resolved to.
type RouteMatch struct {
	// Resource and Verb name the permission the route needs ("microservices",
	// "list"); empty for marker routes and unmatched requests.
	Resource string
	Verb     string
	// Name is the instance named by the route's resourceNames parameter.
	Name string
	// Marker is "public" or "authenticated" for routes that need no permission.
	Marker string
	// Template is the matched catalog path ("/api/v3/microservices/:uuid").
	Template string
	// Credentials restricts the credential kinds the route accepts (agent
	// routes accept agent tokens only); empty means any except agent tokens.
	Credentials []IdentityKind
}

// Found reports whether the request matched a catalog route.
func (m RouteMatch) Found() bool { return m.Template != "" }

// Route markers.
const (
	MarkerPublic        = "public"
	MarkerAuthenticated = "authenticated"
)
