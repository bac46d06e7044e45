package jwtguardotel_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	jwtguardotel "github.com/jwtguard/jwtguard/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

const audience = "orders-api"

// run is a scripted sequence against a real JWKS server: a valid token
// (twice: a miss, then a cache hit), an expired one, one for another
// audience, a JWKS outage (stale keys still serve, then past the stale
// window 503), and the recovery. It returns what the SDK's in-memory
// reader and exporter saw, and the guard's own Status at the end.
type run struct {
	metrics metricdata.ResourceMetrics
	spans   tracetest.SpanStubs
	status  jwtguard.Status
}

func scripted(t *testing.T) run {
	iss := jwtguardtest.NewIssuer(t, "ES256")
	var out run
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		exporter := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
		obs, err := jwtguardotel.Observer(mp, tp)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		g, err := jwtguard.New(ctx, jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer(iss.URL),
			jwtguard.WithAudience(audience), jwtguard.WithObserver(obs), jwtguard.WithKeysAtStart(),
			jwtguard.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}),
			jwtguard.WithKeySetSettings(jwtguard.KeySetSettings{StaleFor: time.Hour}),
			jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		reg, err := jwtguardotel.RegisterStatus(mp.Meter(jwtguardotel.ScopeName), g)
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Unregister()
		tracer := tp.Tracer("test")
		verify := func(name, token string, want error) {
			t.Helper()
			rctx, span := tracer.Start(ctx, name) // the request's span
			_, err := g.Verify(rctx, token)
			span.End()
			if !errors.Is(err, want) && !(want == nil && err == nil) {
				t.Fatalf("%s: %v, want %v", name, err, want)
			}
		}
		valid := func() string { return iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience}) }

		tok := valid()
		verify("valid", tok, nil)
		verify("valid again", tok, nil)
		verify("expired", iss.Sign(jwtguardtest.Claims{"aud": audience, "exp": time.Now().Add(-time.Hour).Unix()}), jwtguard.ErrExpired)
		verify("wrong aud", iss.Sign(jwtguardtest.Claims{"aud": "billing"}), jwtguard.ErrAudience)

		iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "down", http.StatusBadGateway)
		}))
		time.Sleep(30 * time.Minute) // refreshes fail; keys past their refresh time still serve
		verify("stale keys", valid(), nil)
		time.Sleep(2 * time.Hour) // past the stale window
		verify("unusable keys", valid(), jwtguard.ErrKeysUnavailable)

		iss.SetJWKSHandler(nil)
		time.Sleep(10 * time.Minute) // the backoff (at most 5 min) ends with a successful fetch
		verify("recovered", valid(), nil)
		synctest.Wait()

		if err := reader.Collect(context.Background(), &out.metrics); err != nil {
			t.Fatal(err)
		}
		out.spans = exporter.GetSpans()
		out.status = g.Status()
	})
	return out
}

func TestScriptedRun(t *testing.T) {
	r := scripted(t)
	counts := func(name string) map[string]int64 {
		got := map[string]int64{}
		for _, sm := range r.metrics.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != name {
					continue
				}
				switch data := m.Data.(type) {
				case metricdata.Sum[int64]:
					for _, dp := range data.DataPoints {
						got[label(dp.Attributes)] += dp.Value
					}
				case metricdata.Gauge[int64]:
					for _, dp := range data.DataPoints {
						got[label(dp.Attributes)] += dp.Value
					}
				case metricdata.Histogram[float64]:
					for _, dp := range data.DataPoints {
						got[label(dp.Attributes)] += int64(dp.Count)
					}
				default:
					t.Fatalf("%s: unexpected %T", name, data)
				}
			}
		}
		return got
	}
	sum := func(m map[string]int64) (n int64) {
		for _, v := range m {
			n += v
		}
		return n
	}
	byOutcome := map[string]int64{}
	for k, v := range counts(jwtguardotel.MetricDecisions) {
		byOutcome[attr(k, "jwtguard.outcome")+"/"+attr(k, "error.type")] += v
	}
	want := map[string]int64{"accepted/": 4, "refused/expired": 1, "refused/audience": 1, "refused/keys_unavailable": 1}
	if !equalMaps(byOutcome, want) {
		t.Errorf("decisions = %v, want %v", byOutcome, want)
	}
	if h, m := sum(counts(jwtguardotel.MetricCacheHits)), sum(counts(jwtguardotel.MetricCacheMisses)); h != 1 || m != 3 {
		t.Errorf("cache hits, misses = %d, %d; want 1, 3", h, m)
	}
	if n := sum(counts(jwtguardotel.MetricDecisionDuration)); n != 7 {
		t.Errorf("decision durations recorded: %d, want 7", n)
	}
	for k := range counts(jwtguardotel.MetricDecisions) {
		if iss := attr(k, "jwtguard.issuer"); !strings.HasPrefix(iss, "http://127.0.0.1:") {
			t.Errorf("issuer label %q, want the configured issuer", iss)
		}
	}

	// Key fetches: the counts match the guard's own counters exactly (the
	// number of retries depends on the backoff's jitter).
	src := r.status.KeySources[0]
	fetches, failures := counts(jwtguardotel.MetricKeyFetches), counts(jwtguardotel.MetricKeyFetchFailures)
	if sum(fetches) != int64(src.Fetches) || sum(failures) != int64(src.FetchFailures) || src.FetchFailures < 2 {
		t.Errorf("key fetches %v, failures %v; the guard counted %d and %d", fetches, failures, src.Fetches, src.FetchFailures)
	}
	for k, v := range fetches {
		code := attr(k, "http.response.status_code")
		if (attr(k, "jwtguard.result") == "ok") != (code == "200") || (code != "200" && code != "502") {
			t.Errorf("%d fetches with %s", v, k)
		}
	}
	if n := sum(counts(jwtguardotel.MetricKeyFetchDuration)); n != int64(src.Fetches) {
		t.Errorf("fetch durations recorded: %d, want %d", n, src.Fetches)
	}
	states := map[string]int64{}
	for k, v := range counts(jwtguardotel.MetricKeySetChanges) {
		states[attr(k, "jwtguard.key_set.state")] += v
	}
	if want := map[string]int64{"loaded": 1, "stale": 1, "unusable": 1, "recovered": 1}; !equalMaps(states, want) {
		t.Errorf("state changes = %v, want %v", states, want)
	}
	if got := sum(counts(jwtguardotel.MetricKeySetReady)); got != 1 {
		t.Errorf("ready gauge = %d, want 1 after recovery", got)
	}

	// Traces: one span per key fetch, failed ones marked; the decision as an
	// event on each request's span, never the token.
	var fetchSpans, failed, events int
	for _, s := range r.spans {
		switch s.Name {
		case "jwtguard.key_fetch":
			fetchSpans++
			if s.Status.Code == codes.Error {
				failed++
			}
		default:
			for _, e := range s.Events {
				if e.Name == "jwtguard.decision" {
					events++
				}
			}
			for _, a := range s.Attributes {
				if strings.Count(a.Value.Emit(), ".") >= 2 && len(a.Value.Emit()) > 100 {
					t.Errorf("span %s has what looks like a token in %s", s.Name, a.Key)
				}
			}
			if s.Name == "unusable keys" && !hasAttr(s.Attributes, "error.type", "keys_unavailable") {
				t.Errorf("span %q attributes %v, want error.type=keys_unavailable", s.Name, s.Attributes)
			}
		}
	}
	if fetchSpans != int(src.Fetches) || failed != int(src.FetchFailures) || events != 7 {
		t.Errorf("%d fetch spans (%d failed), %d decision events; want %d (%d), 7", fetchSpans, failed, events, src.Fetches, src.FetchFailures)
	}
}

func label(s attribute.Set) string {
	var b strings.Builder
	for _, kv := range s.ToSlice() {
		b.WriteString(string(kv.Key) + "=" + kv.Value.Emit() + ";")
	}
	return b.String()
}

func attr(label, key string) string {
	for part := range strings.SplitSeq(label, ";") {
		if k, v, ok := strings.Cut(part, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func hasAttr(attrs []attribute.KeyValue, key, value string) bool {
	for _, a := range attrs {
		if string(a.Key) == key && a.Value.Emit() == value {
			return true
		}
	}
	return false
}

func equalMaps(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// BenchmarkObserverHit is a cache hit with the OTel Observer recording into
// an SDK MeterProvider (a ManualReader) and a no-op tracer.
func BenchmarkObserverHit(b *testing.B) {
	iss := jwtguardtest.NewIssuer(b, "ES256")
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	obs, err := jwtguardotel.Observer(mp, tracenoop.NewTracerProvider())
	if err != nil {
		b.Fatal(err)
	}
	g, err := jwtguard.New(b.Context(), jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer(iss.URL),
		jwtguard.WithAudience(audience), jwtguard.WithObserver(obs))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	token := iss.Sign(jwtguardtest.Claims{"aud": audience})
	if _, err := g.Verify(b.Context(), token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Verify(b.Context(), token); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDiscoverySpan: a fetch that reads discovery metadata first gets a
// jwtguard.discovery child span within its key_fetch span.
func TestDiscoverySpan(t *testing.T) {
	iss := jwtguardtest.NewIssuer(t, "ES256")
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	obs, err := jwtguardotel.Observer(sdkmetric.NewMeterProvider(), tp)
	if err != nil {
		t.Fatal(err)
	}
	g, err := jwtguard.New(t.Context(), jwtguard.WithTrustedIssuer(iss.URL, jwtguard.WithIssuerDiscovery(iss.URL)),
		jwtguard.WithAudience(audience), jwtguard.WithObserver(obs), jwtguard.WithKeysAtStart(),
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	spans := exporter.GetSpans()
	var fetch, discovery *tracetest.SpanStub
	for i := range spans {
		switch spans[i].Name {
		case "jwtguard.key_fetch":
			fetch = &spans[i]
		case "jwtguard.discovery":
			discovery = &spans[i]
		}
	}
	if fetch == nil || discovery == nil {
		t.Fatalf("spans %v: want a key_fetch and a discovery span", spans)
	}
	if discovery.Parent.SpanID() != fetch.SpanContext.SpanID() {
		t.Errorf("discovery span's parent %v, want the key_fetch span %v", discovery.Parent.SpanID(), fetch.SpanContext.SpanID())
	}
	if discovery.StartTime.Before(fetch.StartTime) || discovery.EndTime.After(fetch.EndTime) || !discovery.EndTime.After(discovery.StartTime) {
		t.Errorf("discovery span [%v, %v] not within the fetch's [%v, %v]", discovery.StartTime, discovery.EndTime, fetch.StartTime, fetch.EndTime)
	}
}
