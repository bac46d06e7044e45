// Package jwtguardotel reports a jwtguard.Guard's work as OpenTelemetry
// metrics and traces: decisions by outcome and reason, verified-token cache
// hits and misses, key fetches (a span each, a duration histogram, a
// failure counter), key-set state changes, cache evictions, resolver
// decisions, and, with [RegisterStatus], key-set readiness and age as
// observable gauges.
//
//	obs, err := jwtguardotel.Observer(meterProvider, tracerProvider)
//	g, err := jwtguard.New(ctx, ..., jwtguard.WithObserver(obs))
//	reg, err := jwtguardotel.RegisterStatus(meterProvider.Meter(jwtguardotel.ScopeName), g)
//
// Attributes have bounded cardinality: outcomes, reasons and algorithms are
// fixed sets, issuers and key sources are those of the configuration. No
// token, sub, jti or kid is ever recorded. On a request's span (the one in
// the context given to Authenticate or Verify, e.g. from otelhttp) the
// decision is added as an event, with the refusal's reason as attributes.
package jwtguardotel

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jwtguard/jwtguard"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and tracer.
const ScopeName = "github.com/jwtguard/jwtguard/otel"

// Attribute keys. http.response.status_code and error.type are
// OpenTelemetry semantic conventions; the rest have none and carry the
// jwtguard. prefix.
const (
	AttrOutcome    = attribute.Key("jwtguard.outcome")       // accepted, refused, passed
	AttrReason     = attribute.Key("error.type")             // refusal reason: expired, audience, keys_unavailable, … (jwtguard.ReasonName)
	AttrIssuer     = attribute.Key("jwtguard.issuer")        // configured issuer, template, "resolver", "unknown"
	AttrAlg        = attribute.Key("jwtguard.alg")           // JOSE algorithm or "other"
	AttrCacheHit   = attribute.Key("jwtguard.cache_hit")     // bool
	AttrSource     = attribute.Key("jwtguard.key_source")    // JWKS URL or discovered issuer, as configured
	AttrDiscovery  = attribute.Key("jwtguard.discovery")     // bool
	AttrResult     = attribute.Key("jwtguard.result")        // key fetch: ok, unavailable, misconfigured; resolver: approved, refused, failed
	AttrState      = attribute.Key("jwtguard.key_set.state") // loaded, stale, unusable, recovered
	AttrStatusCode = attribute.Key("http.response.status_code")
)

// Metric names.
const (
	MetricDecisions        = "jwtguard.decisions"                // counter {decision}: outcome, error.type, issuer, alg, cache_hit
	MetricDecisionDuration = "jwtguard.decision.duration"        // histogram s: outcome, cache_hit
	MetricCacheHits        = "jwtguard.verified_cache.hits"      // counter {token}: accepted tokens served from the cache
	MetricCacheMisses      = "jwtguard.verified_cache.misses"    // counter {token}: accepted tokens verified in full
	MetricCacheEvictions   = "jwtguard.verified_cache.evictions" // counter {token}
	MetricCacheEntries     = "jwtguard.verified_cache.entries"   // gauge {token} (RegisterStatus)
	MetricKeyFetches       = "jwtguard.key_fetches"              // counter {fetch}: key_source, result, http.response.status_code
	MetricKeyFetchFailures = "jwtguard.key_fetch.failures"       // counter {fetch}: key_source, result
	MetricKeyFetchDuration = "jwtguard.key_fetch.duration"       // histogram s: key_source, result
	MetricKeySetChanges    = "jwtguard.key_set.state_changes"    // counter {change}: key_source, state
	MetricKeySetReady      = "jwtguard.key_set.ready"            // gauge 1/0: key_source (RegisterStatus)
	MetricKeySetStale      = "jwtguard.key_set.stale"            // gauge 1/0: key_source (RegisterStatus)
	MetricKeySetAge        = "jwtguard.key_set.age"              // gauge s since the last successful fetch: key_source (RegisterStatus)
	MetricResolverDecision = "jwtguard.resolver.decisions"       // counter {decision}: result
	MetricResolverIssuers  = "jwtguard.resolver.issuers"         // gauge {issuer}: approved issuers held
	MetricRevocationLag    = "jwtguard.revocation.lag"           // gauge s: key_source (the mirror)
	MetricDPoPReplays      = "jwtguard.dpop.replays"             // counter {proof}: issuer
)

type instruments struct {
	tracer                               trace.Tracer
	decisions, hits, misses, evictions   metric.Int64Counter
	fetches, fetchFailures, stateChanges metric.Int64Counter
	resolverDecisions, replays           metric.Int64Counter
	decisionDuration, fetchDuration      metric.Float64Histogram
	resolverIssuers                      metric.Int64Gauge
	revocationLag                        metric.Float64Gauge
	sets                                 sync.Map // decisionKey → *decisionAttrs
}

// Observer returns a jwtguard.Observer that records metrics with mp and
// spans with tp; nil providers mean the global ones (otel.GetMeterProvider,
// otel.GetTracerProvider). Pass it to jwtguard.WithObserver.
func Observer(mp metric.MeterProvider, tp trace.TracerProvider) (jwtguard.Observer, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	m := mp.Meter(ScopeName)
	in := &instruments{tracer: tp.Tracer(ScopeName)}
	var err error
	counter := func(dst *metric.Int64Counter, name, unit, desc string) {
		if err == nil {
			*dst, err = m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		}
	}
	seconds := []float64{0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5}
	histogram := func(dst *metric.Float64Histogram, name, desc string, bounds []float64) {
		if err == nil {
			*dst, err = m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(bounds...))
		}
	}
	counter(&in.decisions, MetricDecisions, "{decision}", "Authentication decisions, by outcome and refusal reason.")
	counter(&in.hits, MetricCacheHits, "{token}", "Accepted tokens served from the verified-token cache.")
	counter(&in.misses, MetricCacheMisses, "{token}", "Accepted tokens verified in full (not in the cache).")
	counter(&in.evictions, MetricCacheEvictions, "{token}", "Verified tokens evicted from the cache to make room.")
	counter(&in.fetches, MetricKeyFetches, "{fetch}", "Key set fetches, by source and result.")
	counter(&in.fetchFailures, MetricKeyFetchFailures, "{fetch}", "Failed key set fetches.")
	counter(&in.stateChanges, MetricKeySetChanges, "{change}", "Key set state changes: loaded, stale, unusable, recovered.")
	counter(&in.resolverDecisions, MetricResolverDecision, "{decision}", "Issuer resolver answers: approved, refused, failed.")
	counter(&in.replays, MetricDPoPReplays, "{proof}", "Replayed DPoP proofs.")
	histogram(&in.decisionDuration, MetricDecisionDuration, "Time to decide on a request or token.", seconds)
	histogram(&in.fetchDuration, MetricKeyFetchDuration, "Key set fetch duration, discovery included.", []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})
	if err == nil {
		in.resolverIssuers, err = m.Int64Gauge(MetricResolverIssuers, metric.WithUnit("{issuer}"), metric.WithDescription("Resolver-approved issuers held."))
	}
	if err == nil {
		in.revocationLag, err = m.Float64Gauge(MetricRevocationLag, metric.WithUnit("s"), metric.WithDescription("How far a revocation mirror trails its source."))
	}
	if err != nil {
		return jwtguard.Observer{}, fmt.Errorf("jwtguardotel: %w", err)
	}
	return jwtguard.Observer{
		OnDecision:         in.decision,
		OnKeyFetch:         in.keyFetch,
		OnKeySetState:      in.keySetState,
		OnCacheEvict:       in.cacheEvict,
		OnResolverDecision: in.resolverDecision,
		OnRevocationLag:    in.revocation,
		OnDPoPReplay:       in.dpopReplay,
	}, nil
}

// decisionKey is one combination of a decision's labels; there are few
// (fixed outcomes, reasons and algorithms, configured issuers), so their
// attribute sets are built once and kept.
type decisionKey struct {
	outcome, reason, issuer, alg string
	hit                          bool
}

type decisionAttrs struct {
	add    []metric.AddOption    // every label, for the decisions counter
	record []metric.RecordOption // outcome and cache hit, for the histogram
	event  []trace.EventOption
	span   []attribute.KeyValue
}

func (in *instruments) attrsFor(k decisionKey) *decisionAttrs {
	if a, ok := in.sets.Load(k); ok {
		return a.(*decisionAttrs)
	}
	all := []attribute.KeyValue{AttrOutcome.String(k.outcome), AttrIssuer.String(k.issuer), AttrAlg.String(k.alg), AttrCacheHit.Bool(k.hit)}
	span := []attribute.KeyValue{AttrOutcome.String(k.outcome)}
	if k.reason != "" {
		all = append(all, AttrReason.String(k.reason))
		span = append(span, AttrReason.String(k.reason))
	}
	a := &decisionAttrs{
		add: []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(all...))},
		// attribute.NewSet sorts its argument in place: name the two, not all[i].
		record: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(AttrOutcome.String(k.outcome), AttrCacheHit.Bool(k.hit)))},
		event:  []trace.EventOption{trace.WithAttributes(all...)},
		span:   span,
	}
	v, _ := in.sets.LoadOrStore(k, a)
	return v.(*decisionAttrs)
}

func (in *instruments) decision(ctx context.Context, d jwtguard.Decision) {
	a := in.attrsFor(decisionKey{string(d.Outcome), jwtguard.ReasonName(d.Reason), d.Issuer, d.Alg, d.CacheHit})
	in.decisions.Add(ctx, 1, a.add...)
	in.decisionDuration.Record(ctx, d.Duration().Seconds(), a.record...)
	if d.Outcome == jwtguard.Accepted {
		if d.CacheHit {
			in.hits.Add(ctx, 1)
		} else {
			in.misses.Add(ctx, 1)
		}
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("jwtguard.decision", a.event...)
		span.SetAttributes(a.span...)
	}
}

func (in *instruments) keyFetch(ctx context.Context, f jwtguard.KeyFetch) {
	attrs := []attribute.KeyValue{AttrSource.String(f.Source), AttrResult.String(string(f.Result))}
	in.fetches.Add(ctx, 1, metric.WithAttributes(append(attrs, AttrStatusCode.Int(f.StatusCode))...))
	in.fetchDuration.Record(ctx, f.Duration.Seconds(), metric.WithAttributes(attrs...))
	if f.Result != jwtguard.FetchOK {
		in.fetchFailures.Add(ctx, 1, metric.WithAttributes(attrs...))
	}
	// The span is made after the fact, with the fetch's own start and end.
	_, span := in.tracer.Start(ctx, "jwtguard.key_fetch", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(f.Start), trace.WithAttributes(attrs...))
	span.SetAttributes(AttrDiscovery.Bool(f.Discovery), AttrStatusCode.Int(f.StatusCode),
		attribute.Int("jwtguard.keys", f.Keys), attribute.Int("jwtguard.keys.added", f.Added), attribute.Int("jwtguard.keys.removed", f.Removed))
	if f.DiscoveryDuration > 0 { // the metadata read that came first, as a child span
		_, d := in.tracer.Start(trace.ContextWithSpan(ctx, span), "jwtguard.discovery", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithTimestamp(f.Start), trace.WithAttributes(AttrSource.String(f.Source)))
		d.End(trace.WithTimestamp(f.Start.Add(f.DiscoveryDuration)))
	}
	if f.Err != nil {
		span.RecordError(f.Err, trace.WithTimestamp(f.Start.Add(f.Duration)))
		span.SetStatus(codes.Error, string(f.Result))
	}
	span.End(trace.WithTimestamp(f.Start.Add(f.Duration)))
}

func (in *instruments) keySetState(s jwtguard.KeySetState) {
	in.stateChanges.Add(context.Background(), 1, metric.WithAttributes(AttrSource.String(s.Source), AttrState.String(string(s.State))))
}

func (in *instruments) cacheEvict(n int) {
	in.evictions.Add(context.Background(), int64(n))
}

func (in *instruments) resolverDecision(r jwtguard.ResolverDecision) {
	ctx := context.Background()
	in.resolverDecisions.Add(ctx, 1, metric.WithAttributes(AttrResult.String(r.Result)))
	in.resolverIssuers.Record(ctx, int64(r.Cached))
}

func (in *instruments) revocation(l jwtguard.RevocationLag) {
	in.revocationLag.Record(context.Background(), l.Lag.Seconds(), metric.WithAttributes(AttrSource.String(l.Source)))
}

func (in *instruments) dpopReplay(ctx context.Context, r jwtguard.DPoPReplay) {
	in.replays.Add(ctx, 1, metric.WithAttributes(AttrIssuer.String(r.Issuer)))
}

// RegisterStatus registers observable gauges that read g.Status() at each
// collection: per key source its readiness (1/0), staleness (1/0) and the
// age of its keys (seconds since the last successful fetch), plus the
// number of verified tokens cached. Unregister the result when g is closed.
func RegisterStatus(meter metric.Meter, g *jwtguard.Guard) (metric.Registration, error) {
	ready, err := meter.Int64ObservableGauge(MetricKeySetReady,
		metric.WithDescription("1 when the key set has usable keys, 0 when requests get 503."))
	if err != nil {
		return nil, fmt.Errorf("jwtguardotel: %w", err)
	}
	stale, err := meter.Int64ObservableGauge(MetricKeySetStale,
		metric.WithDescription("1 while keys are served past their refresh time because fetches fail."))
	if err != nil {
		return nil, fmt.Errorf("jwtguardotel: %w", err)
	}
	age, err := meter.Float64ObservableGauge(MetricKeySetAge, metric.WithUnit("s"),
		metric.WithDescription("Seconds since the key set was last fetched successfully."))
	if err != nil {
		return nil, fmt.Errorf("jwtguardotel: %w", err)
	}
	entries, err := meter.Int64ObservableGauge(MetricCacheEntries, metric.WithUnit("{token}"),
		metric.WithDescription("Verified tokens held in the cache."))
	if err != nil {
		return nil, fmt.Errorf("jwtguardotel: %w", err)
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := g.Status()
		now := time.Now()
		for _, k := range s.KeySources {
			src := k.URL
			if k.Issuer != "" {
				src = k.Issuer
			}
			attrs := metric.WithAttributes(AttrSource.String(src))
			o.ObserveInt64(ready, b2i(k.Ready), attrs)
			o.ObserveInt64(stale, b2i(k.Stale), attrs)
			if !k.LastSuccess.IsZero() {
				o.ObserveFloat64(age, now.Sub(k.LastSuccess).Seconds(), attrs)
			}
		}
		o.ObserveInt64(entries, int64(s.CacheSize))
		return nil
	}, ready, stale, age, entries)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
