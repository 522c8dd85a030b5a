package config

import (
	"net/netip"
	"strconv"
	"strings"
)

// Operations are the settings of how Gatehouse is run and watched rather
// than what it decides: the forward-auth door's trusted proxies, tracing,
// pprof and the decision log file.
type Operations struct {
	// ForwardAuthTrustedProxies may call /ext_authz/… and /forward-auth;
	// empty turns that door off.
	ForwardAuthTrustedProxies []netip.Prefix
	// OTLPEndpoint is the OTLP/gRPC collector; empty turns tracing off.
	OTLPEndpoint     string
	OTLPInsecure     bool
	ServiceName      string
	TraceSampleRatio float64
	// PprofAddr serves net/http/pprof on its own listener; empty: off.
	PprofAddr string
	// DecisionLogFile receives the decision log lines instead of stderr.
	DecisionLogFile string
}

// TracingEnabled reports whether decisions are traced.
func (o Operations) TracingEnabled() bool { return o.OTLPEndpoint != "" }

func (p *parser) operations() Operations {
	o := Operations{
		ForwardAuthTrustedProxies: p.prefixes("FORWARD_AUTH_TRUSTED_PROXIES"),
		OTLPEndpoint:              p.str("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
		OTLPInsecure:              p.boolean("OTEL_EXPORTER_OTLP_INSECURE", false),
		ServiceName:               p.str("OTEL_SERVICE_NAME", "gatehouse"),
		TraceSampleRatio:          p.ratio("OTEL_TRACES_SAMPLER_ARG", 1),
		PprofAddr:                 p.str("PPROF_ADDR", ""),
		DecisionLogFile:           p.str("DECISION_LOG_FILE", ""),
	}
	if o.PprofAddr != "" {
		o.PprofAddr = p.addr("PPROF_ADDR", "")
	}
	return o
}

// prefixes parses a comma list of IP addresses and CIDR prefixes.
func (p *parser) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, item := range p.list(name) {
		if strings.Contains(item, "/") {
			pfx, err := netip.ParsePrefix(item)
			if err != nil {
				p.fail(name, "invalid CIDR %q", item)
				continue
			}
			if a := pfx.Addr(); a.Is4In6() && pfx.Bits() >= 96 {
				// The door compares unmapped addresses: ::ffff:10.0.0.0/104
				// must mean 10.0.0.0/8, as ::ffff:10.0.0.1 means 10.0.0.1.
				pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
			}
			out = append(out, pfx.Masked())
			continue
		}
		ip, err := netip.ParseAddr(item)
		if err != nil {
			p.fail(name, "invalid IP address %q (use an address or a CIDR such as 10.0.0.0/8)", item)
			continue
		}
		ip = ip.Unmap()
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out
}

// ratio parses a number in [0, 1].
func (p *parser) ratio(name string, def float64) float64 {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		p.fail(name, "must be a number between 0 and 1, got %q", v)
		return def
	}
	return f
}
