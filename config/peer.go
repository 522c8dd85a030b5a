package config

import (
	"os"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/authn/peer"
)

// Peer is the cluster-peer authentication of HORAO-style deployments.
type Peer struct {
	// Secrets verify peer tokens; the first signs (PEER_SECRET). None: peer
	// authentication is off.
	Secrets [][]byte
	// Peers are the accepted origins (PEERS).
	Peers []peer.Entry
	// Strict requires requests to come from Peers (PEER_STRICT).
	Strict bool
	// HostID is this host's identity (HOST_ID, else the system host name).
	HostID                string
	MaxLifetime           time.Duration
	RequireSignedRequests bool
	// InsecureAcceptReplayableTokens accepts HORAO's unexpiring tokens
	// (PEER_INSECURE_ACCEPT_REPLAYABLE_TOKENS), for migrations only.
	InsecureAcceptReplayableTokens bool
	DNSRefresh                     time.Duration
	// Routes are the paths peers may POST to (PEER_ROUTES).
	Routes []string
}

// Enabled reports whether peer authentication is configured.
func (p Peer) Enabled() bool { return len(p.Secrets) > 0 }

// DefaultPeerRoutes returns HORAO's synchronize routes. It is a function,
// not a variable, so that no Config shares (and no caller edits) the list.
func DefaultPeerRoutes() []string { return []string{"/synchronize", "/api/v3/synchronize"} }

// peer reads the PEER_* variables and HOST_ID. A half-configured setup (a
// secret without peers or the reverse, or PEER_* tuning without a secret) is
// an error naming the variable, never "authentication disabled" (PR-13).
func (p *parser) peer() Peer {
	c := Peer{
		Strict:                         p.strictBoolean("PEER_STRICT", true),
		HostID:                         p.str("HOST_ID", ""),
		MaxLifetime:                    p.duration("PEER_TOKEN_MAX_LIFETIME", peer.DefaultMaxLifetime),
		RequireSignedRequests:          p.boolean("PEER_REQUIRE_SIGNED_REQUESTS", false),
		InsecureAcceptReplayableTokens: p.boolean("PEER_INSECURE_ACCEPT_REPLAYABLE_TOKENS", false),
		DNSRefresh:                     p.duration("PEER_DNS_REFRESH", peer.DefaultDNSRefresh),
		Routes:                         p.list("PEER_ROUTES"),
	}
	if c.HostID == "" {
		c.HostID, _ = os.Hostname()
	}
	secrets, err := peer.ParseSecrets(p.str("PEER_SECRET", ""))
	if err != nil {
		p.fail("PEER_SECRET", "%v", err) // never echoes a secret
	}
	c.Secrets = secrets
	peers, err := peer.ParsePeers(p.str("PEERS", ""))
	if err != nil {
		p.fail("PEERS", "%v", err)
	}
	c.Peers = peers
	rawPeers := p.str("PEERS", "")
	if len(c.Routes) == 0 {
		c.Routes = DefaultPeerRoutes()
	}
	for _, r := range c.Routes {
		if !strings.HasPrefix(r, "/") || strings.ContainsAny(r, "?#: ") || strings.Contains(r, "//") {
			p.fail("PEER_ROUTES", "%q is not a literal path", r)
		}
	}
	secretSet := p.str("PEER_SECRET", "") != ""
	switch {
	case secretSet && err == nil && rawPeers == "":
		p.fail("PEERS", "is required when PEER_SECRET is set (comma list of host-or-ip-or-cidr or host-or-ip=peer-id)")
	case !secretSet && rawPeers != "":
		p.fail("PEER_SECRET", "is required when PEERS is set (peer authentication would otherwise be off)")
	case !secretSet:
		for _, name := range []string{"PEER_STRICT", "PEER_TOKEN_MAX_LIFETIME", "PEER_REQUIRE_SIGNED_REQUESTS", "PEER_DNS_REFRESH", "PEER_ROUTES", "PEER_INSECURE_ACCEPT_REPLAYABLE_TOKENS"} {
			if v, ok := p.lookup(name); ok && strings.TrimSpace(v) != "" {
				p.fail(name, "is set but peer authentication is not configured (PEER_SECRET and PEERS)")
			}
		}
	}
	if c.MaxLifetime > time.Hour {
		p.fail("PEER_TOKEN_MAX_LIFETIME", "%s is not short-lived; at most 1h", c.MaxLifetime)
	}
	switch {
	case secretSet && c.HostID == "":
		p.fail("HOST_ID", "is required: the system host name is unknown")
	case (secretSet || p.str("HOST_ID", "") != "") && c.HostID != "" && peer.CheckID(c.HostID) != nil:
		p.fail("HOST_ID", "%q is not a valid peer id: %v", c.HostID, peer.CheckID(c.HostID))
	}
	return c
}

// strictBoolean accepts true/false/1/0 in any case and nothing else (PR-06:
// HORAO took every value but "True" as false).
func (p *parser) strictBoolean(name string, def bool) bool {
	v := p.str(name, "")
	switch strings.ToLower(v) {
	case "":
		return def
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	p.fail(name, "invalid boolean %q: use true, false, 1 or 0", v)
	return def
}
