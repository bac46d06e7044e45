package jwtguard_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// recorder keeps every event an Observer receives.
type recorder struct {
	mu        sync.Mutex
	decisions []jwtguard.Decision
	fetches   []jwtguard.KeyFetch
	states    []jwtguard.KeySetStateKind
	evicted   int
}

func (r *recorder) observer() jwtguard.Observer {
	return jwtguard.Observer{
		OnDecision: func(_ context.Context, d jwtguard.Decision) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.decisions = append(r.decisions, d)
		},
		OnKeyFetch: func(_ context.Context, f jwtguard.KeyFetch) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.fetches = append(r.fetches, f)
		},
		OnKeySetState: func(s jwtguard.KeySetState) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.states = append(r.states, s.State)
		},
		OnCacheEvict: func(n int) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.evicted += n
		},
	}
}

func TestObserverDecisions(t *testing.T) {
	iss := jwtguardtest.NewIssuer(t, "ES256")
	clock := jwtguardtest.NewClock(time.Now())
	iss.SetClock(clock.Now)
	var rec recorder
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer(iss.URL),
		jwtguard.WithAudience(audience), jwtguard.WithClock(clock.Now), jwtguard.WithObserver(rec.observer()),
		jwtguard.WithKeysAtStart())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	valid := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience})
	expired := iss.Sign(jwtguardtest.Claims{"aud": audience, "exp": clock.Now().Add(-time.Hour).Unix()})
	wrongAud := iss.Sign(jwtguardtest.Claims{"aud": "billing"})
	stranger := iss.Sign(jwtguardtest.Claims{"aud": audience, "iss": "https://evil.example/"})
	for _, tok := range []string{valid, valid, expired, wrongAud, stranger} {
		g.Verify(t.Context(), tok)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil) // no token, through Authenticate
	g.Authenticate(r)
	r.Header.Set("Authorization", "Bearer "+valid)
	g.Handler(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), r) // one decision, not two

	type want struct {
		outcome jwtguard.Outcome
		reason  error
		issuer  string
		alg     string
		hit     bool
	}
	wants := []want{
		{jwtguard.Accepted, nil, iss.URL, "ES256", false},
		{jwtguard.Accepted, nil, iss.URL, "ES256", true},
		{jwtguard.Refused, jwtguard.ErrExpired, iss.URL, "ES256", false},
		{jwtguard.Refused, jwtguard.ErrAudience, iss.URL, "ES256", false},
		{jwtguard.Refused, jwtguard.ErrIssuer, jwtguard.UnknownIssuer, "ES256", false}, // never the token's iss
		{jwtguard.Refused, jwtguard.ErrNoToken, "", "", false},
		{jwtguard.Accepted, nil, iss.URL, "ES256", true},
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.decisions) != len(wants) {
		t.Fatalf("%d decisions, want %d: %+v", len(rec.decisions), len(wants), rec.decisions)
	}
	for i, w := range wants {
		d := rec.decisions[i]
		if d.Outcome != w.outcome || !errors.Is(d.Reason, w.reason) || (w.reason == nil) != (d.Reason == nil) ||
			d.Issuer != w.issuer || d.Alg != w.alg || d.CacheHit != w.hit {
			t.Errorf("decision %d = %+v, want %+v", i, d, w)
		}
	}
	if got := jwtguard.ReasonName(rec.decisions[2].Reason); got != "expired" {
		t.Errorf("ReasonName = %q, want expired", got)
	}
	// The start-up load and the background loop's first fetch may or may not
	// be one fetch: the first adds the key, any other changes nothing.
	for i, f := range rec.fetches {
		if f.Result != jwtguard.FetchOK || f.StatusCode != 200 || f.Source != iss.JWKSURL() || f.Added != max(0, 1-i) || f.Removed != 0 {
			t.Errorf("fetch %d = %+v, want OK, adding %d key(s)", i, f, max(0, 1-i))
		}
	}
	if len(rec.fetches) == 0 {
		t.Error("no key fetch reported")
	}
	if len(rec.states) != 1 || rec.states[0] != jwtguard.KeySetLoaded {
		t.Errorf("states = %v, want [loaded]", rec.states)
	}
}

// TestObserverKeySetStates scripts an outage: loaded, failing past the
// refresh time (stale), past the stale window (unusable), recovered.
func TestObserverKeySetStates(t *testing.T) {
	iss := jwtguardtest.NewIssuer(t, "ES256")
	clock := jwtguardtest.NewClock(time.Now())
	iss.SetClock(clock.Now)
	var rec recorder
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer(iss.URL),
		jwtguard.WithAudience(audience), jwtguard.WithClock(clock.Now), jwtguard.WithObserver(rec.observer()),
		jwtguard.WithKeySetSettings(jwtguard.KeySetSettings{StaleFor: time.Hour}), jwtguard.WithKeysAtStart(),
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	poke := func() { // a token with an unknown kid makes the guard fetch
		clock.Add(10 * time.Minute)
		g.Verify(t.Context(), iss.SignRaw(map[string]any{"kid": "new-" + clock.Now().String()},
			[]byte(`{"iss":"`+iss.URL+`","aud":"`+audience+`","exp":`+strconv.FormatInt(clock.Now().Add(time.Hour).Unix(), 10)+`}`)))
	}
	poke() // 10 min: fresh for 15, failing: no state change yet
	poke() // 20 min: stale
	poke()
	clock.Add(time.Hour)
	poke() // unusable
	iss.SetJWKSHandler(nil)
	poke() // recovered
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []jwtguard.KeySetStateKind{jwtguard.KeySetLoaded, jwtguard.KeySetStale, jwtguard.KeySetUnusable, jwtguard.KeySetRecovered}
	if !equal(rec.states, want) {
		t.Errorf("states = %v, want %v", rec.states, want)
	}
	var failed int
	for _, f := range rec.fetches {
		if f.Result != jwtguard.FetchOK {
			failed++
			if f.StatusCode != http.StatusBadGateway || f.Result != jwtguard.FetchUnavailable {
				t.Errorf("failed fetch = %+v, want 502 unavailable", f)
			}
		}
	}
	// The background loop may add fetches of its own: at least the four pokes failed.
	if failed < 4 || rec.fetches[len(rec.fetches)-1].Result != jwtguard.FetchOK {
		t.Errorf("%d fetches, %d failed; want at least 4 failures, then success", len(rec.fetches), failed)
	}
}

func TestObserverCacheEvictions(t *testing.T) {
	iss := jwtguardtest.NewIssuer(t, "HS256")
	var rec recorder
	g, err := jwtguard.New(t.Context(), jwtguard.WithHMACSecret(iss.Secret()), jwtguard.WithIssuer(iss.URL),
		jwtguard.WithAudience(audience), jwtguard.WithVerifiedTokenCache(32), jwtguard.WithObserver(rec.observer()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		token := iss.Sign(jwtguardtest.Claims{"aud": audience, "n": i})
		for range 2 { // a token enters the cache on its second use
			if _, err := g.Verify(t.Context(), token); err != nil {
				t.Fatal(err)
			}
		}
	}
	size := g.Status().CacheSize
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.evicted != 200-size {
		t.Errorf("evicted %d, want %d (200 tokens, %d cached)", rec.evicted, 200-size, size)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// BenchmarkObserverHit is what an Observer adds to a cache hit: none, one
// whose OnDecision is nil (the zero Observer), and one with a no-op
// OnDecision (a Decision built and passed; the clock is read once, as
// without an Observer, since Decision.Duration reads it only when called).
func BenchmarkObserverHit(b *testing.B) {
	iss := jwtguardtest.NewIssuer(b, "ES256")
	token := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience})
	for _, bc := range []struct {
		name string
		opts []jwtguard.Option
	}{
		{"none", nil},
		{"zero", []jwtguard.Option{jwtguard.WithObserver(jwtguard.Observer{})}},
		{"noop", []jwtguard.Option{jwtguard.WithObserver(jwtguard.Observer{OnDecision: func(context.Context, jwtguard.Decision) {}})}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g, err := jwtguard.New(b.Context(), append([]jwtguard.Option{jwtguard.WithJWKS(iss.JWKSURL()),
				jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience(audience)}, bc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			if _, err := g.Verify(b.Context(), token); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.Verify(b.Context(), token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// An Observer counts decisions by reason, here in a map; the nested module
// github.com/jwtguard/jwtguard/otel makes OpenTelemetry metrics and spans
// of the same events.
func ExampleWithObserver() {
	iss, err := jwtguardtest.StartIssuer("ES256")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer iss.Close()
	var mu sync.Mutex
	byReason := map[string]int{}
	g, err := jwtguard.New(context.Background(),
		jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience("orders-api"),
		jwtguard.WithObserver(jwtguard.Observer{
			OnDecision: func(_ context.Context, d jwtguard.Decision) {
				mu.Lock()
				defer mu.Unlock()
				byReason[string(d.Outcome)+" "+jwtguard.ReasonName(d.Reason)]++
			},
		}), jwtguard.WithKeysAtStart())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	ctx := context.Background()
	g.Verify(ctx, iss.Sign(jwtguardtest.Claims{"aud": "orders-api"}))
	g.Verify(ctx, iss.Sign(jwtguardtest.Claims{"aud": "billing"}))
	g.Verify(ctx, iss.Sign(jwtguardtest.Claims{"aud": "orders-api", "exp": time.Now().Add(-time.Hour).Unix()}))
	mu.Lock()
	defer mu.Unlock()
	fmt.Println(byReason)
	// Output: map[accepted :1 refused audience:1 refused expired:1]
}

func TestObserverResolverDecisions(t *testing.T) {
	tenant := jwtguardtest.NewIssuer(t, "ES256")
	stranger := jwtguardtest.NewIssuer(t, "ES256")
	broken := jwtguardtest.NewIssuer(t, "ES256")
	var mu sync.Mutex
	var results []string
	var cached []int
	var issuers []string
	g, err := jwtguard.New(t.Context(), jwtguard.WithAudience(audience),
		jwtguard.WithIssuerResolver(func(_ context.Context, iss string) ([]jwtguard.IssuerOption, error) {
			switch iss {
			case tenant.URL:
				return []jwtguard.IssuerOption{jwtguard.WithJWKS(tenant.JWKSURL())}, nil
			case broken.URL:
				return nil, errors.New("tenant store down")
			}
			return nil, nil
		}, jwtguard.ResolverSettings{}),
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)),
		jwtguard.WithObserver(jwtguard.Observer{
			OnResolverDecision: func(d jwtguard.ResolverDecision) {
				mu.Lock()
				defer mu.Unlock()
				results, cached = append(results, d.Result), append(cached, d.Cached)
			},
			OnDecision: func(_ context.Context, d jwtguard.Decision) {
				mu.Lock()
				defer mu.Unlock()
				issuers = append(issuers, d.Issuer)
			},
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, iss := range []*jwtguardtest.Issuer{tenant, stranger, broken} {
		g.Verify(t.Context(), iss.Sign(jwtguardtest.Claims{"aud": audience}))
	}
	mu.Lock()
	defer mu.Unlock()
	if !equal(results, []string{"approved", "refused", "failed"}) || !equal(cached, []int{1, 1, 1}) {
		t.Errorf("resolver decisions %v with %v cached; want approved, refused, failed with 1 each", results, cached)
	}
	// A resolver's tenants are one label, and a refused issuer is never named.
	if !equal(issuers, []string{"resolver", jwtguard.UnknownIssuer, jwtguard.UnknownIssuer}) {
		t.Errorf("decision issuers = %v", issuers)
	}
}
