package jwtguard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// Fault modes of the JWKS endpoint.
const (
	serveOK = iota
	serve500
	serveGarbage
	serveHuge
	serveRedirectAway
	serveRedirectHome
	serveHang
	serveEmpty
	serveNoUsableKeys
	serveFlapping // alternately down and up, one fetch each
)

// faultyJWKS wraps an issuer's JWKS endpoint with switchable faults and
// counts the fetches that reach it.
type faultyJWKS struct {
	iss    *jwtguardtest.Issuer
	mode   atomic.Int32
	hits   atomic.Int64
	maxAge atomic.Int64 // seconds; 0 sends no Cache-Control
	hang   chan struct{}
	away   string
}

func newFaultyJWKS(t *testing.T, alg string) *faultyJWKS {
	t.Helper()
	f := &faultyJWKS{iss: jwtguardtest.NewIssuer(t, alg), hang: make(chan struct{})}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(f.iss.JWKS()) // a perfectly good key set, on the wrong host
	}))
	t.Cleanup(other.Close)
	t.Cleanup(func() { close(f.hang) })
	f.away = other.URL + "/jwks"
	f.iss.SetJWKSHandler(f)
	return f
}

func (f *faultyJWKS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	switch f.mode.Load() {
	case serve500:
		http.Error(w, "identity provider down", http.StatusInternalServerError)
	case serveGarbage:
		_, _ = w.Write([]byte(`{"keys":[{"kty":`))
	case serveHuge:
		chunk := []byte(strings.Repeat(" ", 64<<10))
		_, _ = w.Write([]byte(`{"keys":[`))
		for range 10 << 20 / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	case serveRedirectAway:
		http.Redirect(w, r, f.away, http.StatusFound)
	case serveRedirectHome:
		if r.URL.Query().Get("moved") == "" {
			http.Redirect(w, r, r.URL.Path+"?moved=1", http.StatusMovedPermanently)
			return
		}
		_, _ = w.Write(f.iss.JWKS())
	case serveHang:
		select {
		case <-r.Context().Done():
		case <-f.hang:
		}
	case serveEmpty:
		_, _ = w.Write([]byte(`{"keys":[]}`))
	case serveFlapping:
		if f.hits.Load()%2 == 0 {
			http.Error(w, "flap", http.StatusBadGateway)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write(f.iss.JWKS())
	case serveNoUsableKeys:
		_, _ = w.Write([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"tiny"}]}`))
	default:
		if age := f.maxAge.Load(); age > 0 {
			w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", age))
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(f.iss.JWKS())
	}
}

// bubbleClient is an HTTP client for use inside a synctest bubble: no
// connection outlives its request, so idle connections never keep the
// bubble's clock from advancing.
func bubbleClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func (f *faultyJWKS) guard(t *testing.T, ctx context.Context, opts ...jwtguard.Option) *jwtguard.Guard {
	t.Helper()
	g, err := jwtguard.New(ctx, append([]jwtguard.Option{
		jwtguard.WithJWKS(f.iss.JWKSURL()),
		jwtguard.WithIssuer(f.iss.URL),
		jwtguard.WithAudience(audience),
		jwtguard.WithHTTPClient(bubbleClient()),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func (f *faultyJWKS) token() string {
	return f.iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience})
}

func authErr(g *jwtguard.Guard, token string) error {
	_, err := g.Authenticate(bearer(token))
	return err
}

// TestStaleIfError: an outage within the stale window changes nothing for
// valid tokens; past it, requests get 503 with Retry-After; recovery is
// picked up by the backoff retries.
func TestStaleIfError(t *testing.T) {
	f := newFaultyJWKS(t, "ES256")
	f.maxAge.Store(600)
	var hookCalls atomic.Int64
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		g := f.guard(t, ctx, jwtguard.WithKeyFetchErrorHook(func(string, error) { hookCalls.Add(1) }),
			jwtguard.WithKeySetSettings(jwtguard.KeySetSettings{StaleFor: 2 * time.Hour}))
		if err := authErr(g, f.token()); err != nil {
			t.Fatalf("before outage: %v", err)
		}
		f.mode.Store(serve500)
		for _, wait := range []time.Duration{10 * time.Minute, 30 * time.Minute, 60 * time.Minute} {
			time.Sleep(wait)
			if err := authErr(g, f.token()); err != nil {
				t.Fatalf("%v into the outage: %v", wait, err)
			}
		}
		st := g.Status().KeySources[0]
		if !st.Stale || !st.Ready || st.FetchFailures == 0 || st.LastError == "" || hookCalls.Load() == 0 {
			t.Fatalf("status during outage = %+v, hook calls %d", st, hookCalls.Load())
		}
		time.Sleep(2 * time.Hour) // past refresh time + StaleFor
		err := authErr(g, f.token())
		var je *jwtguard.Error
		if !errors.Is(err, jwtguard.ErrKeysUnavailable) || !errors.As(err, &je) || je.Status != 503 || je.RetryAfter < 1 {
			t.Fatalf("past the stale window: %v", err)
		}
		w := serve(g.Handler(protected), bearer(f.token()))
		if w.Code != 503 || w.Header().Get("Retry-After") == "" {
			t.Fatalf("past the stale window: status %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
		}
		if g.Ready() {
			t.Fatal("Ready() with no usable keys")
		}
		f.mode.Store(serveOK)
		time.Sleep(6 * time.Minute) // longer than the largest backoff
		if err := authErr(g, f.token()); err != nil || !g.Ready() {
			t.Fatalf("after recovery: %v (ready %v)", err, g.Ready())
		}
	})
}

// TestFlapping: a JWKS that fails every other fetch never interrupts
// valid tokens, and the guard never marks itself unready.
func TestFlapping(t *testing.T) {
	f := newFaultyJWKS(t, "ES256")
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		g := f.guard(t, ctx)
		if err := authErr(g, f.token()); err != nil {
			t.Fatal(err)
		}
		f.mode.Store(serveFlapping)
		for range 12 * 6 { // six hours, every five minutes
			time.Sleep(5 * time.Minute)
			if err := authErr(g, f.token()); err != nil || !g.Ready() {
				t.Fatalf("while flapping: %v (ready %v)", err, g.Ready())
			}
		}
		st := g.Status().KeySources[0]
		if st.FetchFailures == 0 || st.Fetches < 2*st.FetchFailures-1 {
			t.Fatalf("status after flapping: %+v", st)
		}
		// A key rotated in while flapping is still picked up.
		f.iss.Rotate()
		for range 3 { // an unknown kid may land on a failing fetch; the cooldown then passes
			if authErr(g, f.token()) == nil {
				return
			}
			time.Sleep(31 * time.Second)
		}
		t.Fatal("rotated key never picked up while flapping")
	})
}

// TestBackoff: while the JWKS is down, retries start within seconds and
// back off exponentially, never faster than that.
func TestBackoff(t *testing.T) {
	f := newFaultyJWKS(t, "ES256")
	f.mode.Store(serve500)
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		g := f.guard(t, ctx)
		// New does not wait for keys; the first request fails fast with 503.
		if err := authErr(g, f.token()); !errors.Is(err, jwtguard.ErrKeysUnavailable) {
			t.Fatalf("down at start: %v", err)
		}
		time.Sleep(5 * time.Second)
		if n := f.hits.Load(); n < 2 {
			t.Fatalf("%d fetches in the first 5 s, want a retry within seconds", n)
		}
		time.Sleep(time.Hour)
		// 1 s doubling to a 5 min cap, jittered down to half: about 20 tries an hour.
		if n := f.hits.Load(); n < 12 || n > 40 {
			t.Fatalf("%d fetches in an hour of outage, want about 20", n)
		}
		// Requests during an outage do not add fetches beyond the backoff.
		before := f.hits.Load()
		for range 100 {
			_ = authErr(g, f.token())
		}
		if n := f.hits.Load() - before; n > 1 {
			t.Fatalf("100 requests during backoff caused %d fetches", n)
		}
	})
}

// TestUnknownKIDFlood: a thousand concurrent tokens with random kids cause
// at most one fetch per cooldown, and never delay valid tokens.
func TestUnknownKIDFlood(t *testing.T) {
	f := newFaultyJWKS(t, "ES256")
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		g := f.guard(t, ctx)
		if err := authErr(g, f.token()); err != nil {
			t.Fatal(err)
		}
		forged := func(i int) string {
			return f.iss.SignRaw(map[string]any{"kid": fmt.Sprintf("random-%d", i)},
				mustJSON(jwtguardtest.Claims{"aud": audience}, f.iss, time.Now()))
		}
		flood := func(round int) {
			var wg sync.WaitGroup
			for i := range 1000 {
				wg.Go(func() {
					if err := authErr(g, forged(round*1000+i)); !errors.Is(err, jwtguard.ErrUnknownKey) {
						t.Errorf("random kid: %v", err)
					}
				})
			}
			wg.Wait()
		}
		start := f.hits.Load()
		flood(0)
		if n := f.hits.Load() - start; n > 1 {
			t.Fatalf("first flood: %d fetches, want at most 1", n)
		}
		time.Sleep(10 * time.Second)
		flood(1)
		if n := f.hits.Load() - start; n > 1 {
			t.Fatalf("second flood within the cooldown: %d fetches in all, want at most 1", n)
		}
		time.Sleep(31 * time.Second)
		flood(2)
		if n := f.hits.Load() - start; n > 2 {
			t.Fatalf("flood after the cooldown: %d fetches in all, want at most 2", n)
		}
		// Tokens whose alg or issuer is not allowed never fetch.
		before := f.hits.Load()
		time.Sleep(31 * time.Second)
		other := jwtguardtest.NewIssuer(t, "ES256")
		for range 100 {
			_ = authErr(g, other.Sign(jwtguardtest.Claims{"aud": audience}))
			_ = authErr(g, f.iss.SignRaw(map[string]any{"alg": "HS256", "kid": "x"}, []byte(`{"iss":"`+f.iss.URL+`"}`)))
		}
		if n := f.hits.Load() - before; n != 0 {
			t.Fatalf("untrusted issuer or alg caused %d fetches", n)
		}
		if st := g.Status().KeySources[0]; st.UnknownKIDs == 0 || st.UnknownKIDs > 3 {
			t.Fatalf("unknown-kid refresh counter = %d", st.UnknownKIDs)
		}
	})
}

// TestRotation: a new key is usable by the first token that names it; a
// removed key stops verifying, cached tokens included, at the next refresh.
func TestRotation(t *testing.T) {
	f := newFaultyJWKS(t, "RS256")
	f.maxAge.Store(300)
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		g := f.guard(t, ctx)
		oldToken := f.iss.Sign(jwtguardtest.Claims{"aud": audience, "exp": time.Now().Add(time.Hour).Unix()})
		for range 2 { // the second is a verified-token cache hit
			if err := authErr(g, oldToken); err != nil {
				t.Fatal(err)
			}
		}
		f.iss.Rotate()
		if err := authErr(g, f.token()); err != nil {
			t.Fatalf("first token of the new key: %v", err)
		}
		if err := authErr(g, oldToken); err != nil {
			t.Fatalf("old key, still published: %v", err)
		}
		f.iss.RetireOldKeys()
		time.Sleep(5 * time.Minute) // the background refresh runs before max-age ends
		if err := authErr(g, oldToken); !errors.Is(err, jwtguard.ErrUnknownKey) {
			t.Fatalf("token of a removed key: %v, want ErrUnknownKey", err)
		}
		if err := authErr(g, f.token()); err != nil {
			t.Fatalf("current key: %v", err)
		}
	})
}

// TestRefreshSchedule: refresh follows max-age, clamped to the bounds, with
// jitter that keeps it between 75 % and 90 % of the lifetime.
func TestRefreshSchedule(t *testing.T) {
	for _, tc := range []struct {
		maxAge   int64
		lifetime time.Duration
	}{
		{600, 10 * time.Minute},
		{5, time.Minute},             // clamped up to MinRefresh
		{10 * 86400, 24 * time.Hour}, // clamped down to MaxRefresh
		{0, 15 * time.Minute},        // no header: DefaultRefresh
		{3 * 3600, 3 * time.Hour},
	} {
		t.Run(fmt.Sprint(tc.maxAge), func(t *testing.T) {
			f := newFaultyJWKS(t, "EdDSA")
			f.maxAge.Store(tc.maxAge)
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				g := f.guard(t, ctx)
				if err := g.WaitReady(ctx); err != nil {
					t.Fatal(err)
				}
				st := g.Status().KeySources[0]
				due := st.NextRefresh.Sub(st.LastSuccess)
				if due < tc.lifetime*3/4 || due > tc.lifetime*9/10 {
					t.Fatalf("next refresh after %v, want 75-90%% of %v", due, tc.lifetime)
				}
				hits := f.hits.Load()
				time.Sleep(due - time.Second)
				if f.hits.Load() != hits {
					t.Fatal("refreshed early")
				}
				time.Sleep(2 * time.Second)
				synctest.Wait()
				if f.hits.Load() != hits+1 {
					t.Fatalf("did not refresh on schedule: %d fetches", f.hits.Load()-hits)
				}
			})
		})
	}
}

// TestHostileJWKS: broken or hostile key endpoints never load keys, never
// panic and never hang; the guard answers 503 while the failure may pass,
// 500 when the source answers wrongly, and reports why.
func TestHostileJWKS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mode      int32
		wantErr   string // in Status().LastError
		wantValid bool
		sentinel  error
	}{
		{"HTTP 500", serve500, "status 500", false, jwtguard.ErrKeysUnavailable},
		{"garbage JSON", serveGarbage, "not a JWK Set", false, jwtguard.ErrKeysMisconfigured},
		{"10 MB body", serveHuge, "larger than", false, jwtguard.ErrKeysMisconfigured},
		{"redirect to another host", serveRedirectAway, "another origin", false, jwtguard.ErrKeysUnavailable},
		{"empty key set", serveEmpty, "no signing key", false, jwtguard.ErrKeysMisconfigured},
		{"only unusable keys", serveNoUsableKeys, "no usable signing key", false, jwtguard.ErrKeysMisconfigured},
		{"redirect on the same origin", serveRedirectHome, "", true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFaultyJWKS(t, "ES256")
			f.mode.Store(tc.mode)
			g := f.guard(t, t.Context())
			err := authErr(g, f.token())
			if tc.wantValid {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("err = %v, want %v", err, tc.sentinel)
			}
			if st := g.Status().KeySources[0]; !strings.Contains(st.LastError, tc.wantErr) || st.Ready {
				t.Fatalf("status = %+v, want last error containing %q", st, tc.wantErr)
			}
		})
	}
}

// TestSlowJWKS: a JWKS that never answers costs a request at most the fetch
// timeout, however many requests wait for it.
func TestSlowJWKS(t *testing.T) {
	t.Parallel()
	f := newFaultyJWKS(t, "ES256")
	f.mode.Store(serveHang)
	timeout := 300 * time.Millisecond
	g := f.guard(t, t.Context(), jwtguard.WithKeySetSettings(jwtguard.KeySetSettings{FetchTimeout: timeout}))
	start := time.Now()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := authErr(g, f.token()); !errors.Is(err, jwtguard.ErrKeysUnavailable) {
				t.Errorf("err = %v", err)
			}
		})
	}
	wg.Wait()
	// A generous bound for loaded CI machines: the point is "about the
	// timeout", not "until the JWKS answers" (it never does).
	if elapsed := time.Since(start); elapsed > 20*timeout {
		t.Fatalf("50 requests took %v with a %v fetch timeout", elapsed, timeout)
	}
	if f.hits.Load() > 2 {
		t.Fatalf("%d fetches for 50 waiting requests", f.hits.Load())
	}
	// A request whose own context ends stops waiting at once.
	f2 := newFaultyJWKS(t, "ES256")
	f2.mode.Store(serveHang)
	g2 := f2.guard(t, t.Context(), jwtguard.WithKeySetSettings(jwtguard.KeySetSettings{FetchTimeout: time.Hour}))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := g2.Verify(ctx, f2.token()); !errors.Is(err, jwtguard.ErrKeysUnavailable) {
		t.Fatalf("cancelled request: %v", err)
	}
}

// TestKeysAtStart: with WithKeysAtStart, New fails when keys cannot load
// (ErrKeysUnavailable for an outage, ErrKeysMisconfigured for a 404: not
// ErrConfig, as the configuration may be right) and succeeds once they
// can; without it, New never waits.
func TestKeysAtStart(t *testing.T) {
	t.Parallel()
	f := newFaultyJWKS(t, "ES256")
	f.mode.Store(serve500)
	if _, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(f.iss.JWKSURL()), jwtguard.WithIssuer(f.iss.URL),
		jwtguard.WithAudience(audience), jwtguard.WithKeysAtStart()); !errors.Is(err, jwtguard.ErrKeysUnavailable) || errors.Is(err, jwtguard.ErrConfig) {
		t.Fatalf("down at start with WithKeysAtStart: %v", err)
	}
	if _, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(f.iss.URL+"/missing"), jwtguard.WithIssuer(f.iss.URL),
		jwtguard.WithAudience(audience), jwtguard.WithKeysAtStart()); !errors.Is(err, jwtguard.ErrKeysMisconfigured) {
		t.Fatalf("404 at start with WithKeysAtStart: %v", err)
	}
	g := f.guard(t, t.Context())
	if g.Ready() {
		t.Fatal("ready while the JWKS is down")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := g.WaitReady(ctx); err == nil {
		t.Fatal("WaitReady succeeded while the JWKS is down")
	}
	f.mode.Store(serveOK)
	g2, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(f.iss.JWKSURL()), jwtguard.WithIssuer(f.iss.URL),
		jwtguard.WithAudience(audience), jwtguard.WithKeysAtStart())
	if err != nil || !g2.Ready() {
		t.Fatalf("up at start: %v", err)
	}
}

// TestNoGoroutineLeak: once the context given to New ends, the guard's
// background goroutines end too. synctest.Test itself fails when a
// goroutine of the bubble outlives the test function (it reports the
// bubble as deadlocked), so this test fails if any refresh loop or fetch is
// left behind; counting runtime.NumGoroutine would also count the httptest
// servers' own goroutines outside the bubble.
func TestNoGoroutineLeak(t *testing.T) {
	f := newFaultyJWKS(t, "ES256")
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var guards []*jwtguard.Guard
		for range 5 {
			guards = append(guards, f.guard(t, ctx))
		}
		for _, g := range guards {
			if err := authErr(g, f.token()); err != nil {
				t.Fatal(err)
			}
		}
		f.mode.Store(serve500)
		time.Sleep(time.Hour) // refreshes fail and back off
		cancel()
		synctest.Wait()
	})
}

// TestIssuerDiscovery: keys found through OIDC discovery; a document naming
// another issuer is refused.
func TestIssuerDiscovery(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g, err := jwtguard.New(t.Context(), jwtguard.WithIssuerDiscovery(iss.URL), jwtguard.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	if err := authErr(g, iss.Sign(jwtguardtest.Claims{"aud": audience})); err != nil {
		t.Fatal(err)
	}
	if st := g.Status().KeySources[0]; st.URL != iss.JWKSURL() || st.Issuer != iss.URL {
		t.Fatalf("status = %+v", st)
	}

	// A metadata document that names someone else is not trusted.
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, iss.URL, iss.JWKSURL())
	}))
	t.Cleanup(liar.Close)
	g2, err := jwtguard.New(t.Context(), jwtguard.WithIssuerDiscovery(liar.URL), jwtguard.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	token := iss.Sign(jwtguardtest.Claims{"aud": audience, "iss": liar.URL})
	if err := authErr(g2, token); !errors.Is(err, jwtguard.ErrKeysMisconfigured) {
		t.Fatalf("lying discovery document: %v", err)
	}
	if st := g2.Status().KeySources[0]; !strings.Contains(st.LastError, "but the configured issuer is") {
		t.Fatalf("status = %+v", st)
	}
}

// TestTrustedIssuers: each issuer has its own keys and policy; an issuer's
// token never verifies with another's keys; unknown issuers never fetch.
func TestTrustedIssuers(t *testing.T) {
	t.Parallel()
	a := newFaultyJWKS(t, "RS256")
	b := jwtguardtest.NewIssuer(t, "EdDSA")
	g, err := jwtguard.New(t.Context(),
		jwtguard.WithTrustedIssuer(a.iss.URL, jwtguard.WithJWKS(a.iss.JWKSURL()), jwtguard.WithAudience("api-a")),
		jwtguard.WithTrustedIssuer(b.URL, jwtguard.WithIssuerDiscovery(b.URL), jwtguard.WithAudience("api-b"), jwtguard.WithAlgorithms("EdDSA")),
	)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"issuer a", a.iss.Sign(jwtguardtest.Claims{"aud": "api-a"}), nil},
		{"issuer b", b.Sign(jwtguardtest.Claims{"aud": "api-b"}), nil},
		{"a's token with b's audience", a.iss.Sign(jwtguardtest.Claims{"aud": "api-b"}), jwtguard.ErrAudience},
		{"b's key claiming to be a", b.Sign(jwtguardtest.Claims{"aud": "api-a", "iss": a.iss.URL}), jwtguard.ErrUnknownKey},
		{"a's key, b's alg list", b.SignRaw(map[string]any{"alg": "RS256"}, []byte(`{"iss":"`+b.URL+`","aud":"api-b","exp":9999999999}`)), jwtguard.ErrUnsupportedAlgorithm},
		{"unknown issuer", b.Sign(jwtguardtest.Claims{"aud": "api-b", "iss": "https://evil.example"}), jwtguard.ErrIssuer},
	}
	for _, tc := range tests {
		if err := authErr(g, tc.token); !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	// Guard-level options (WithLogger, WithCredentialsOptional, WithIssuer)
	// inside WithTrustedIssuer do not compile: they are not IssuerOptions.
	for _, bad := range [][]jwtguard.Option{
		{jwtguard.WithTrustedIssuer("x", jwtguard.WithAudience("y"))},
		{jwtguard.WithTrustedIssuer("x", jwtguard.WithJWKS(a.iss.JWKSURL()))}, // no audience anywhere
		{jwtguard.WithTrustedIssuer("x", jwtguard.WithJWKS(a.iss.JWKSURL()), jwtguard.WithAudience("y")), jwtguard.WithoutIssuerCheck()},
		{jwtguard.WithTrustedIssuer("x", jwtguard.WithIssuerDiscovery("https://z.example"), jwtguard.WithAudience("y"))},
	} {
		if _, err := jwtguard.New(t.Context(), bad...); !errors.Is(err, jwtguard.ErrConfig) {
			t.Errorf("bad trusted-issuer config accepted: %v", err)
		}
	}
}

// TestIssuerResolver: dynamic tenants are resolved once and cached; refused
// issuers cause neither fetches nor repeated resolver calls.
func TestIssuerResolver(t *testing.T) {
	t.Parallel()
	tenants := map[string]*faultyJWKS{}
	for range 3 {
		f := newFaultyJWKS(t, "ES256")
		tenants[f.iss.URL] = f
	}
	var calls atomic.Int64
	g, err := jwtguard.New(t.Context(),
		jwtguard.WithAudience(audience),
		jwtguard.WithIssuerResolver(func(ctx context.Context, iss string) ([]jwtguard.IssuerOption, error) {
			calls.Add(1)
			f, ok := tenants[iss]
			if !ok {
				return nil, nil
			}
			return []jwtguard.IssuerOption{jwtguard.WithJWKS(f.iss.JWKSURL())}, nil
		}, jwtguard.ResolverSettings{MaxIssuers: 2}),
	)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		for _, f := range tenants {
			if err := authErr(g, f.token()); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Three tenants through a cache of two: evictions, but each lookup is correct.
	if n := calls.Load(); n < 3 {
		t.Fatalf("resolver called %d times", n)
	}
	stranger := jwtguardtest.NewIssuer(t, "ES256")
	before := calls.Load()
	for range 10 {
		if err := authErr(g, stranger.Sign(jwtguardtest.Claims{"aud": audience})); !errors.Is(err, jwtguard.ErrIssuer) {
			t.Fatalf("stranger: %v", err)
		}
	}
	if n := calls.Load() - before; n != 1 {
		t.Fatalf("refused issuer resolved %d times, want 1 (cached refusal)", n)
	}
	if len(g.Status().KeySources) > 2 {
		t.Fatalf("cache holds %d issuers, max 2", len(g.Status().KeySources))
	}
}
