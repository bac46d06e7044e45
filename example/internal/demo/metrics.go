package demo

import (
	"context"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jwtguard/jwtguard"
)

// PlainMetrics is the in-memory demo's metrics: a small collector fed by
// jwtguard.Observer, served on GET /metrics in the Prometheus text format
// (version 0.0.4), without any telemetry library, so that the root module
// needs none. Its metric and label names are those the OpenTelemetry
// Prometheus exporter writes for github.com/jwtguard/jwtguard/otel
// (jwtguard_decisions_total, jwtguard_decision_duration_seconds, …, same
// histogram buckets), so otel/grafana-dashboard.json and the README's alerts
// work against either; example/fleet's TestPlainMetricsMatchOTel holds the
// two to that. It leaves out the exporter's otel_scope_* labels and
// target_info.
//
// Labels come from the events' fields only, which have bounded
// cardinality (outcomes, jwtguard.ReasonName, configured issuers,
// algorithms, key sources): no token, sub, jti or kid is ever recorded.
// Readiness, staleness, key age and cache entries are read from the guard's
// Status at each scrape. Safe for concurrent use.
func PlainMetrics() Metrics {
	c := &collector{families: map[string]*family{}}
	return Metrics{
		Observer: jwtguard.Observer{
			OnDecision:         c.decision,
			OnKeyFetch:         c.keyFetch,
			OnKeySetState:      c.keySetState,
			OnCacheEvict:       c.cacheEvict,
			OnResolverDecision: c.resolverDecision,
			OnRevocationLag:    c.revocationLag,
			OnDPoPReplay:       c.dpopReplay,
		},
		Handler: http.HandlerFunc(c.serveHTTP),
		Guard: func(g *jwtguard.Guard) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.status = g.Status
			return nil
		},
	}
}

// The names, help texts and buckets of jwtguardotel's instruments, as its
// Prometheus exporter writes them (units become suffixes, counters get
// _total, dots become underscores).
const (
	metricDecisions        = "jwtguard_decisions_total"
	metricDecisionDuration = "jwtguard_decision_duration_seconds"
	metricCacheHits        = "jwtguard_verified_cache_hits_total"
	metricCacheMisses      = "jwtguard_verified_cache_misses_total"
	metricCacheEvictions   = "jwtguard_verified_cache_evictions_total"
	metricCacheEntries     = "jwtguard_verified_cache_entries"
	metricKeyFetches       = "jwtguard_key_fetches_total"
	metricKeyFetchFailures = "jwtguard_key_fetch_failures_total"
	metricKeyFetchDuration = "jwtguard_key_fetch_duration_seconds"
	metricKeySetChanges    = "jwtguard_key_set_state_changes_total"
	metricKeySetReady      = "jwtguard_key_set_ready"
	metricKeySetStale      = "jwtguard_key_set_stale"
	metricKeySetAge        = "jwtguard_key_set_age_seconds"
	metricResolverDecision = "jwtguard_resolver_decisions_total"
	metricResolverIssuers  = "jwtguard_resolver_issuers"
	metricRevocationLag    = "jwtguard_revocation_lag_seconds"
	metricDPoPReplays      = "jwtguard_dpop_replays_total"

	labelOutcome    = "jwtguard_outcome"
	labelReason     = "error_type"
	labelIssuer     = "jwtguard_issuer"
	labelAlg        = "jwtguard_alg"
	labelCacheHit   = "jwtguard_cache_hit"
	labelSource     = "jwtguard_key_source"
	labelResult     = "jwtguard_result"
	labelState      = "jwtguard_key_set_state"
	labelStatusCode = "http_response_status_code"
)

var (
	decisionBuckets = []float64{0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5}
	fetchBuckets    = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
)

var help = map[string]string{
	metricDecisions:        "Authentication decisions, by outcome and refusal reason.",
	metricDecisionDuration: "Time to decide on a request or token.",
	metricCacheHits:        "Accepted tokens served from the verified-token cache.",
	metricCacheMisses:      "Accepted tokens verified in full (not in the cache).",
	metricCacheEvictions:   "Verified tokens evicted from the cache to make room.",
	metricCacheEntries:     "Verified tokens held in the cache.",
	metricKeyFetches:       "Key set fetches, by source and result.",
	metricKeyFetchFailures: "Failed key set fetches.",
	metricKeyFetchDuration: "Key set fetch duration, discovery included.",
	metricKeySetChanges:    "Key set state changes: loaded, stale, unusable, recovered.",
	metricKeySetReady:      "1 when the key set has usable keys, 0 when requests get 503.",
	metricKeySetStale:      "1 while keys are served past their refresh time because fetches fail.",
	metricKeySetAge:        "Seconds since the key set was last fetched successfully.",
	metricResolverDecision: "Issuer resolver answers: approved, refused, failed.",
	metricResolverIssuers:  "Resolver-approved issuers held.",
	metricRevocationLag:    "How far a revocation mirror trails its source.",
	metricDPoPReplays:      "Replayed DPoP proofs.",
}

// collector holds every series. mu guards families (and every series in
// them) and status; the Observer's callbacks and scrapes take it briefly.
// Series are few (bounded labels), so one map and one lock are enough.
type collector struct {
	mu       sync.Mutex
	families map[string]*family
	status   func() jwtguard.Status // the API guard's, set once by Metrics.Guard
}

type family struct {
	kind   string    // counter, gauge, histogram
	bounds []float64 // histogram bucket upper bounds, +Inf implied
	series map[string]*series
}

// series is one label combination: value for counters and gauges; counts
// (per bucket, not cumulative), sum and count for histograms.
type series struct {
	labels string // rendered: a="x",b="y", names sorted
	value  float64
	counts []uint64
	sum    float64
	count  uint64
}

type label struct{ name, value string }

func (c *collector) decision(_ context.Context, d jwtguard.Decision) {
	took := d.Duration().Seconds()
	hit := strconv.FormatBool(d.CacheHit)
	all := []label{{labelOutcome, string(d.Outcome)}, {labelIssuer, d.Issuer}, {labelAlg, d.Alg}, {labelCacheHit, hit}}
	if r := jwtguard.ReasonName(d.Reason); r != "" { // no error_type label unless refused, as jwtguardotel
		all = append(all, label{labelReason, r})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(metricDecisions, 1, all...)
	c.observe(metricDecisionDuration, decisionBuckets, took, label{labelOutcome, string(d.Outcome)}, label{labelCacheHit, hit})
	if d.Outcome == jwtguard.Accepted {
		if d.CacheHit {
			c.add(metricCacheHits, 1)
		} else {
			c.add(metricCacheMisses, 1)
		}
	}
}

func (c *collector) keyFetch(_ context.Context, f jwtguard.KeyFetch) {
	src, result := label{labelSource, f.Source}, label{labelResult, string(f.Result)}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(metricKeyFetches, 1, src, result, label{labelStatusCode, strconv.Itoa(f.StatusCode)})
	c.observe(metricKeyFetchDuration, fetchBuckets, f.Duration.Seconds(), src, result)
	if f.Result != jwtguard.FetchOK {
		c.add(metricKeyFetchFailures, 1, src, result)
	}
}

func (c *collector) keySetState(s jwtguard.KeySetState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(metricKeySetChanges, 1, label{labelSource, s.Source}, label{labelState, string(s.State)})
}

func (c *collector) cacheEvict(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(metricCacheEvictions, float64(n))
}

func (c *collector) resolverDecision(r jwtguard.ResolverDecision) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(metricResolverDecision, 1, label{labelResult, r.Result})
	c.set(metricResolverIssuers, float64(r.Cached))
}

func (c *collector) revocationLag(l jwtguard.RevocationLag) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set(metricRevocationLag, l.Lag.Seconds(), label{labelSource, l.Source})
}

func (c *collector) dpopReplay(_ context.Context, r jwtguard.DPoPReplay) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(metricDPoPReplays, 1, label{labelIssuer, r.Issuer})
}

// seriesLocked returns the series of name with labels ls, made on first use.
func (c *collector) seriesLocked(name, kind string, bounds []float64, ls []label) *series {
	f := c.families[name]
	if f == nil {
		f = &family{kind: kind, bounds: bounds, series: map[string]*series{}}
		c.families[name] = f
	}
	key := renderLabels(ls)
	s := f.series[key]
	if s == nil {
		s = &series{labels: key}
		if kind == "histogram" {
			s.counts = make([]uint64, len(bounds))
		}
		f.series[key] = s
	}
	return s
}

// add adds v to a counter. Callers hold c.mu, as for set and observe.
func (c *collector) add(name string, v float64, ls ...label) {
	c.seriesLocked(name, "counter", nil, ls).value += v
}

// set sets a gauge.
func (c *collector) set(name string, v float64, ls ...label) {
	c.seriesLocked(name, "gauge", nil, ls).value = v
}

// observe records v in a histogram whose buckets are bounds, upper bounds
// inclusive as in both Prometheus and OpenTelemetry.
func (c *collector) observe(name string, bounds []float64, v float64, ls ...label) {
	s := c.seriesLocked(name, "histogram", bounds, ls)
	if i, _ := slices.BinarySearch(bounds, v); i < len(bounds) {
		s.counts[i]++
	}
	s.sum += v
	s.count++
}

// serveHTTP writes every series in the text exposition format 0.0.4, the
// status gauges read now.
func (c *collector) serveHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	c.mu.Lock()
	status := c.status
	c.mu.Unlock()
	var st jwtguard.Status
	if status != nil {
		st = status() // outside c.mu: Status takes the guard's own locks
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if status != nil {
		c.statusLocked(st, time.Now())
	}
	var b strings.Builder
	c.writeLocked(&b)
	_, _ = io.WriteString(w, b.String())
}

// statusLocked replaces the status gauges with st's values, as
// jwtguardotel.RegisterStatus observes them at each collection.
func (c *collector) statusLocked(st jwtguard.Status, now time.Time) {
	for _, name := range []string{metricKeySetReady, metricKeySetStale, metricKeySetAge, metricCacheEntries} {
		delete(c.families, name)
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	for _, k := range st.KeySources {
		src := k.URL
		if k.Issuer != "" {
			src = k.Issuer
		}
		c.set(metricKeySetReady, b2f(k.Ready), label{labelSource, src})
		c.set(metricKeySetStale, b2f(k.Stale), label{labelSource, src})
		if !k.LastSuccess.IsZero() {
			c.set(metricKeySetAge, now.Sub(k.LastSuccess).Seconds(), label{labelSource, src})
		}
	}
	c.set(metricCacheEntries, float64(st.CacheSize))
}

// writeLocked renders the families sorted by name and their series by
// labels, as the Prometheus client library does.
func (c *collector) writeLocked(b *strings.Builder) {
	for _, name := range slices.Sorted(maps.Keys(c.families)) {
		f := c.families[name]
		b.WriteString("# HELP " + name + " " + escapeHelp(help[name]) + "\n")
		b.WriteString("# TYPE " + name + " " + f.kind + "\n")
		for _, key := range slices.Sorted(maps.Keys(f.series)) {
			s := f.series[key]
			if f.kind != "histogram" {
				b.WriteString(name + braces(s.labels) + " " + formatFloat(s.value) + "\n")
				continue
			}
			var cumulative uint64
			for i, bound := range f.bounds {
				cumulative += s.counts[i]
				b.WriteString(name + "_bucket" + braces(join(s.labels, `le="`+formatFloat(bound)+`"`)) + " " + strconv.FormatUint(cumulative, 10) + "\n")
			}
			b.WriteString(name + "_bucket" + braces(join(s.labels, `le="+Inf"`)) + " " + strconv.FormatUint(s.count, 10) + "\n")
			b.WriteString(name + "_sum" + braces(s.labels) + " " + formatFloat(s.sum) + "\n")
			b.WriteString(name + "_count" + braces(s.labels) + " " + strconv.FormatUint(s.count, 10) + "\n")
		}
	}
}

// renderLabels renders ls sorted by name: a="x",b="y".
func renderLabels(ls []label) string {
	ls = slices.Clone(ls)
	slices.SortFunc(ls, func(a, b label) int { return strings.Compare(a.name, b.name) })
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.name + `="` + escapeLabel(l.value) + `"`
	}
	return strings.Join(parts, ",")
}

func join(labels, more string) string {
	if labels == "" {
		return more
	}
	return labels + "," + more
}

func braces(labels string) string {
	if labels == "" {
		return ""
	}
	return "{" + labels + "}"
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

// formatFloat writes v as the Prometheus client library does: shortest
// representation, +Inf, -Inf, NaN.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
