// Package telemetry owns Gatehouse's Prometheus metrics: one registry per
// process (no global registry), and small typed methods the other packages
// call through hooks, so they never import Prometheus themselves.
package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse-authz/gatehouse"
)

// Metrics holds every collector. The zero value is not usable; call New.
type Metrics struct {
	Registry *prometheus.Registry

	decisions     *prometheus.CounterVec
	checkLatency  prometheus.Histogram
	panics        prometheus.Counter
	jwksFetches   *prometheus.CounterVec
	policyReloads *prometheus.CounterVec
	policyOK      prometheus.Gauge
}

// New registers every collector on a fresh registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_decisions_total",
			Help: "Decisions by result (allow or deny), HTTP status and reason code.",
		}, []string{"result", "status", "reason"}),
		checkLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_check_duration_seconds",
			Help:    "Time the decision core spent on one Check, from request to decision.",
			Buckets: []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3},
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_panics_recovered_total",
			Help: "Panics recovered while deciding; each answered 503.",
		}),
		jwksFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_jwks_fetches_total",
			Help: "JWKS and discovery fetches by issuer and result (ok or error).",
		}, []string{"issuer", "result"}),
		policyReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_policy_reloads_total",
			Help: "Policy loads by result (ok or error); a failed reload keeps the previous policy.",
		}, []string{"result"}),
		policyOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_policy_last_reload_ok",
			Help: "1 when the last policy load succeeded, 0 when it was rejected.",
		}),
	}
	// Known label values start at 0, so their series exist (and alerts on
	// them work) before the first event.
	m.policyReloads.WithLabelValues("ok")
	m.policyReloads.WithLabelValues("error")
	r.MustRegister(m.decisions, m.checkLatency, m.panics, m.jwksFetches, m.policyReloads, m.policyOK,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Decided records one decision (decision.Observer).
func (m *Metrics) Decided(d *gatehouse.Decision, elapsed time.Duration) {
	result := "deny"
	if d.Allow {
		result = "allow"
	}
	m.decisions.WithLabelValues(result, statusLabel(d.Status), reasonLabel(d.Reason)).Inc()
	m.checkLatency.Observe(elapsed.Seconds())
}

// Panicked counts a recovered panic (decision.Observer).
func (m *Metrics) Panicked() { m.panics.Inc() }

// JWKSFetch counts one discovery or JWKS fetch.
func (m *Metrics) JWKSFetch(issuer string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.jwksFetches.WithLabelValues(issuer, result).Inc()
}

// PolicyReload counts one policy load.
func (m *Metrics) PolicyReload(ok bool, _ error) {
	if ok {
		m.policyReloads.WithLabelValues("ok").Inc()
		m.policyOK.Set(1)
		return
	}
	m.policyReloads.WithLabelValues("error").Inc()
	m.policyOK.Set(0)
}

// CacheStats exposes a cache's counters, read at scrape time.
func (m *Metrics) CacheStats(name string, stats func() (hits, misses uint64, size int)) {
	m.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_" + name + "_cache_hits_total", Help: "Hits of the " + name + " cache."},
			func() float64 { h, _, _ := stats(); return float64(h) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_" + name + "_cache_misses_total", Help: "Misses of the " + name + " cache."},
			func() float64 { _, mi, _ := stats(); return float64(mi) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_" + name + "_cache_entries", Help: "Entries held by the " + name + " cache."},
			func() float64 { _, _, n := stats(); return float64(n) }),
	)
}

// statusLabel avoids strconv on the hot path for the common codes.
func statusLabel(s int) string {
	switch s {
	case 200:
		return "200"
	case 401:
		return "401"
	case 403:
		return "403"
	case 503:
		return "503"
	}
	if s < 100 || s > 599 {
		return "other"
	}
	return string(rune('0'+s/100)) + string(rune('0'+s/10%10)) + string(rune('0'+s%10))
}

// reasonLabel bounds label cardinality: custom policies may return any reason.
func reasonLabel(r gatehouse.Reason) string {
	if len(r) > 64 {
		return "CUSTOM"
	}
	return string(r)
}
