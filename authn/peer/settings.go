package peer

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// MinSecretBytes is the shortest PEER_SECRET accepted (PR-11): HS256 keys
// should carry at least as many bytes as the hash output.
const MinSecretBytes = 32

// Entry is one PEERS item: an origin (an address, a range, or a host name
// resolved to addresses) and the identity a token from it must claim.
type Entry struct {
	// Exactly one of Addr, Prefix and Host is set.
	Addr   netip.Addr
	Prefix netip.Prefix
	Host   string
	// ID is what the token's peer claim must equal: the "=peer-id" part,
	// else the host name or address as written. Empty for a range: any
	// identity not bound to another entry (and never HOST_ID).
	ID string
}

func (e Entry) String() string {
	switch {
	case e.Prefix.IsValid():
		return e.Prefix.String()
	case e.Addr.IsValid():
		return e.Addr.String() + "=" + e.ID
	}
	return e.Host + "=" + e.ID
}

// ParsePeers reads PEERS: comma-separated items, each
// `host-or-ip-or-cidr` or `host-or-ip=peer-id` (DESIGN.md). Blank items are
// skipped. An item may also be a base URL (`https://host:port/path`, as
// HORAO senders list their peers); its host is the origin. Host names are
// compared in lower case without a trailing dot.
func ParsePeers(value string) ([]Entry, error) {
	var out []Entry
	for i, item := range strings.Split(value, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		e, err := parseEntry(item)
		if err != nil {
			return nil, fmt.Errorf("item %d (%q): %w", i+1, item, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func parseEntry(item string) (Entry, error) {
	origin, id, hasID := strings.Cut(item, "=")
	origin, id = strings.TrimSpace(origin), strings.TrimSpace(id)
	if hasID {
		if err := validPeerID(id); err != nil {
			return Entry{}, fmt.Errorf("peer id: %w", err)
		}
	}
	if strings.Contains(origin, "://") {
		u, err := url.Parse(origin)
		if err != nil || u.Hostname() == "" {
			return Entry{}, errors.New("not a valid URL")
		}
		origin = u.Hostname()
	}
	if strings.Contains(origin, "/") {
		if hasID {
			return Entry{}, errors.New("a CIDR range takes no =peer-id (use one entry per host)")
		}
		p, err := netip.ParsePrefix(origin)
		if err != nil {
			return Entry{}, fmt.Errorf("not a CIDR range: %w", err)
		}
		return Entry{Prefix: p.Masked()}, nil
	}
	if a, err := netip.ParseAddr(strings.Trim(origin, "[]")); err == nil {
		if a.Zone() != "" {
			return Entry{}, errors.New("zoned addresses are not supported")
		}
		a = a.Unmap()
		if !hasID {
			id = a.String()
		}
		return Entry{Addr: a, ID: id}, nil
	}
	host := strings.TrimSuffix(strings.ToLower(origin), ".")
	if !validHost(host) {
		return Entry{}, errors.New("neither an IP address, a CIDR range nor a host name")
	}
	if !hasID {
		id = host
	}
	return Entry{Host: host, ID: id}, nil
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// ParseSecrets reads PEER_SECRET: one secret, or several separated by commas
// for rotation (the first signs, all verify). Each must be at least
// MinSecretBytes long. Errors never echo a secret.
func ParseSecrets(value string) ([][]byte, error) {
	var out [][]byte
	for i, s := range strings.Split(value, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			if strings.TrimSpace(value) == "" {
				return nil, nil
			}
			return nil, fmt.Errorf("secret %d is empty", i+1)
		}
		if len(s) < MinSecretBytes {
			return nil, fmt.Errorf("secret %d is %d bytes; at least %d are required", i+1, len(s), MinSecretBytes)
		}
		out = append(out, []byte(s))
	}
	return out, nil
}

// CheckID reports whether s may be a peer identity (HOST_ID, a PEERS id, a
// peer claim): 1 to MaxPeerIDLen printable ASCII characters without space,
// ',' or '='.
func CheckID(s string) error { return validPeerID(s) }
