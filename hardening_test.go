package jwtguard_test

// Regression tests for the findings of the independent security review
// (issue 9), one test (or table row) per finding. Each fails on the code
// before the fix.

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// Finding 1: deeply nested unverified JSON cost seconds and gigabytes.
// Allocation counts are a deterministic proxy for the work: the old reader
// allocated once per nesting level.
func TestHostileJSONShapesCostLittle(t *testing.T) { // not parallel: AllocsPerRun needs the process to itself
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss)
	deepHeader := `{"alg":"ES256","x":` + strings.Repeat("[", 6000)
	claims := `{"iss":"` + iss.URL + `","aud":"` + audience + `","exp":9999999999,"x":`
	tests := []struct {
		name  string
		token string
	}{
		{"deep open header", b64(deepHeader) + "." + b64(`{}`) + ".AAAA"},
		{"deep closed header", b64(`{"alg":"ES256","x":`+strings.Repeat("[", 3000)+strings.Repeat("]", 3000)+`}`) + "." + b64(`{}`) + ".AAAA"},
		{"deep payload", iss.SignRaw(nil, []byte(claims+strings.Repeat(`{"a":`, 1000)))},
		{"17 levels", iss.SignRaw(nil, []byte(claims+strings.Repeat("[", 16)+strings.Repeat("]", 16)+"}"))},
		{"many escapes", iss.SignRaw(nil, []byte(claims+`"`+strings.Repeat(`\u00e9`, 600)+`"`))},
		{"many members", iss.SignRaw(nil, []byte(claims+`0`+strings.Repeat(`,"m":0`, 10)+strings.Repeat(`,"`+"\u212a"+`":0`, 1)+`}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.token) > 8<<10 {
				t.Fatalf("token of %d bytes is over the cap; the test would not reach the parser", len(tt.token))
			}
			if err := authErr(g, tt.token); !errors.Is(err, jwtguard.ErrMalformedToken) {
				t.Fatalf("got %v, want ErrMalformedToken", err)
			}
			allocs := testing.AllocsPerRun(5, func() { _ = authErr(g, tt.token) })
			if allocs > 64 { // a fixed cost: the old reader allocated per nesting level
				t.Fatalf("%.0f allocations for one hostile token", allocs)
			}
		})
	}
}

// Finding 1 (class): a JWK Set or discovery document nested past the limit
// is refused before encoding/json or jwx see it.
func TestDeepKeySetRefused(t *testing.T) {
	t.Parallel()
	f := newFaultyJWKS(t, "ES256")
	deep := `{"keys":[` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `]}`
	f.iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(deep)) }))
	g := f.guard(t, t.Context())
	if err := authErr(g, f.token()); !errors.Is(err, jwtguard.ErrKeysMisconfigured) {
		t.Fatalf("got %v, want ErrKeysMisconfigured", err)
	}
	if st := g.Status().KeySources[0]; !strings.Contains(st.LastError, "deeper") {
		t.Fatalf("last error %q does not say why", st.LastError)
	}
}

// Finding 2: every way to trust an issuer ends with an audience check.
func TestResolverPolicyNeedsAudience(t *testing.T) {
	t.Parallel()
	tenant := jwtguardtest.NewIssuer(t, "ES256")
	resolver := func(opts ...jwtguard.IssuerOption) jwtguard.IssuerResolver {
		return func(ctx context.Context, iss string) ([]jwtguard.IssuerOption, error) {
			if iss != tenant.URL {
				return nil, nil
			}
			return append([]jwtguard.IssuerOption{jwtguard.WithJWKS(tenant.JWKSURL())}, opts...), nil
		}
	}
	otherAPI := tenant.Sign(jwtguardtest.Claims{"aud": "billing-api"})
	noAud := tenant.Sign(jwtguardtest.Claims{"aud": nil})
	ours := tenant.Sign(jwtguardtest.Claims{"aud": audience})
	tests := []struct {
		name    string
		opts    []jwtguard.Option
		token   string
		wantErr error
	}{
		{"no audience anywhere: other API", []jwtguard.Option{jwtguard.WithIssuerResolver(resolver(), jwtguard.ResolverSettings{})}, otherAPI, jwtguard.ErrIssuer},
		{"no audience anywhere: no aud", []jwtguard.Option{jwtguard.WithIssuerResolver(resolver(), jwtguard.ResolverSettings{})}, noAud, jwtguard.ErrIssuer},
		{"resolver audience: other API", []jwtguard.Option{jwtguard.WithIssuerResolver(resolver(jwtguard.WithAudience(audience)), jwtguard.ResolverSettings{})}, otherAPI, jwtguard.ErrAudience},
		{"resolver audience: ours", []jwtguard.Option{jwtguard.WithIssuerResolver(resolver(jwtguard.WithAudience(audience)), jwtguard.ResolverSettings{})}, ours, nil},
		{"guard audience: other API", []jwtguard.Option{jwtguard.WithAudience(audience), jwtguard.WithIssuerResolver(resolver(), jwtguard.ResolverSettings{})}, otherAPI, jwtguard.ErrAudience},
		{"guard audience: no aud", []jwtguard.Option{jwtguard.WithAudience(audience), jwtguard.WithIssuerResolver(resolver(), jwtguard.ResolverSettings{})}, noAud, jwtguard.ErrMissingClaim},
		{"explicit opt-out", []jwtguard.Option{jwtguard.WithIssuerResolver(resolver(jwtguard.WithoutAudienceCheck()), jwtguard.ResolverSettings{})}, otherAPI, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := jwtguard.New(t.Context(), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if err := authErr(g, tt.token); !errors.Is(err, tt.wantErr) && (err != nil || tt.wantErr != nil) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// Finding 3: a JWK with private members in a fetched set has leaked;
// anyone may sign with it, so it is not trusted.
func TestPrivateKeyInFetchedSetSkipped(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			iss := jwtguardtest.NewIssuer(t, alg)
			public := iss.JWKS()
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(public, &set); err != nil {
				t.Fatal(err)
			}
			set.Keys[0]["d"] = "AQAB" // the private member is there: the set leaked its key
			leaked, _ := json.Marshal(set)
			iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(leaked) }))
			g := newGuard(t, iss)
			if err := authErr(g, iss.Sign(jwtguardtest.Claims{"aud": audience})); err == nil {
				t.Fatal("token signed with a leaked key accepted")
			}
			if st := g.Status().KeySources[0]; !strings.Contains(st.LastError, "private key material") {
				t.Fatalf("status %+v does not report the private key", st)
			}
		})
	}
}

// Finding 4: duplicate names, also equal under encoding/json's case
// folding, are refused at every size and depth.
func TestDuplicateNamesRefused(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss)
	base := `"iss":"` + iss.URL + `","aud":"` + audience + `","exp":9999999999`
	var padding strings.Builder
	for i := range 30 {
		fmt.Fprintf(&padding, `"pad%d":0,`, i)
	}
	tests := []struct{ name, payload string }{
		{"long s (U+017F)", `{` + base + `,"sub":"alice","ſub":"admin"}`},
		{"long s after 24 members", `{` + padding.String() + base + `,"sub":"alice","ſub":"admin"}`},
		{"Kelvin sign after 24 members", `{` + padding.String() + base + `,"kid":1,"` + "\u212aid" + `":2}`},
		{"case after 24 members", `{` + padding.String() + base + `,"role":"user","ROLE":"admin"}`},
		{"escaped name", `{` + base + `,"sub":"alice","\u0073ub":"admin"}`},
		{"nested object", `{` + base + `,"realm":{"roles":["user"],"roles":["admin"]}}`},
		{"nested folded", `{` + base + `,"realm":{"roles":["user"],"ROLES":["admin"]}}`},
		{"object in array", `{` + base + `,"orgs":[{"id":1,"ID":2}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := authErr(g, iss.SignRaw(nil, []byte(tt.payload))); !errors.Is(err, jwtguard.ErrMalformedToken) {
				t.Fatalf("got %v, want ErrMalformedToken", err)
			}
		})
	}
	ok := `{` + padding.String() + base + `,"realm":{"roles":["a"]},"orgs":[{"id":1},{"id":2}]}`
	if err := authErr(g, iss.SignRaw(nil, []byte(ok))); err != nil {
		t.Fatalf("distinct names refused: %v", err)
	}
}

// Finding 5: resolver approvals expire, calls are single-flight per issuer
// and rate-limited for undecided issuers.
func TestResolverApprovalExpires(t *testing.T) {
	t.Parallel()
	clock := jwtguardtest.NewClock(time.Now())
	tenant := jwtguardtest.NewIssuer(t, "ES256")
	var offboarded atomic.Bool
	g, err := jwtguard.New(t.Context(), jwtguard.WithAudience(audience), jwtguard.WithClock(clock.Now),
		jwtguard.WithIssuerResolver(func(ctx context.Context, iss string) ([]jwtguard.IssuerOption, error) {
			if iss != tenant.URL || offboarded.Load() {
				return nil, nil
			}
			return []jwtguard.IssuerOption{jwtguard.WithJWKS(tenant.JWKSURL())}, nil
		}, jwtguard.ResolverSettings{ApprovalTTL: 10 * time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	tenant.SetClock(clock.Now)
	if err := authErr(g, tenant.Sign(jwtguardtest.Claims{"aud": audience})); err != nil {
		t.Fatal(err)
	}
	offboarded.Store(true)
	clock.Add(9 * time.Minute)
	token := tenant.Sign(jwtguardtest.Claims{"aud": audience})
	if err := authErr(g, token); err != nil {
		t.Fatalf("within the approval: %v", err)
	}
	clock.Add(2 * time.Minute)
	if err := authErr(g, token); !errors.Is(err, jwtguard.ErrIssuer) {
		t.Fatalf("offboarded tenant after the approval expired (token cached as verified): %v", err)
	}
}

func TestResolverSingleFlightAndRateLimit(t *testing.T) {
	t.Parallel()
	clock := jwtguardtest.NewClock(time.Now())
	tenant := jwtguardtest.NewIssuer(t, "ES256")
	release := make(chan struct{})
	var calls atomic.Int64
	g, err := jwtguard.New(t.Context(), jwtguard.WithAudience(audience), jwtguard.WithClock(clock.Now),
		jwtguard.WithIssuerResolver(func(ctx context.Context, iss string) ([]jwtguard.IssuerOption, error) {
			calls.Add(1)
			if iss != tenant.URL {
				return nil, nil
			}
			<-release
			return []jwtguard.IssuerOption{jwtguard.WithJWKS(tenant.JWKSURL())}, nil
		}, jwtguard.ResolverSettings{LookupsPerSecond: 5}))
	if err != nil {
		t.Fatal(err)
	}
	tenant.SetClock(clock.Now)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() { errs <- authErr(g, tenant.Sign(jwtguardtest.Claims{"aud": audience})) })
	}
	for calls.Load() == 0 { // wait until the one call is in the resolver
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("50 concurrent tokens of a new issuer: %d resolver calls, want 1", n)
	}
	stranger := jwtguardtest.NewIssuer(t, "ES256")
	unavailable := 0
	for i := range 1000 {
		err := authErr(g, stranger.Sign(jwtguardtest.Claims{"iss": fmt.Sprintf("https://junk-%d.example", i), "aud": audience}))
		if errors.Is(err, jwtguard.ErrKeysUnavailable) {
			unavailable++
		}
	}
	// The clock stands still: only the burst (twice the rate) may pass, and
	// the tenant's call took one of it.
	if n := calls.Load() - 1; n != 9 || unavailable != 991 {
		t.Fatalf("1,000 junk issuers: %d resolver calls and %d 503s, want 9 and 991", n, unavailable)
	}
}

// Finding 6: a custom source may read cookies, so it gets the CSRF check
// unless declared otherwise; WebSocket handshakes with cookies are checked.
func TestCustomSourceAndWebSocketGetOriginCheck(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	token := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience})
	fromCookie := jwtguard.FromFunc("session", func(r *http.Request) (string, error) {
		c, err := r.Cookie("session")
		if err != nil {
			return "", nil
		}
		return c.Value, nil
	})
	request := func(method, site string, upgrade bool) *http.Request {
		r := httptest.NewRequest(method, "https://api.example/orders", nil)
		r.AddCookie(&http.Cookie{Name: "session", Value: token})
		r.Header.Set("Sec-Fetch-Site", site)
		if upgrade {
			r.Header.Set("Connection", "keep-alive, Upgrade")
			r.Header.Set("Upgrade", "websocket")
		}
		return r
	}
	tests := []struct {
		name   string
		source jwtguard.Extractor
		r      *http.Request
		want   int
	}{
		{"custom source, cross-site POST", fromCookie, request("POST", "cross-site", false), 403},
		{"custom source, same-origin POST", fromCookie, request("POST", "same-origin", false), 200},
		{"custom source declared explicit, cross-site POST", fromCookie.WithoutCrossOriginCheck(), request("POST", "cross-site", false), 200},
		{"cookie, cross-site WebSocket", jwtguard.FromCookie("session"), request("GET", "cross-site", true), 403},
		{"custom source, cross-site WebSocket", fromCookie, request("GET", "cross-site", true), 403},
		{"cookie, same-origin WebSocket", jwtguard.FromCookie("session"), request("GET", "same-origin", true), 200},
		{"cookie, cross-site plain GET", jwtguard.FromCookie("session"), request("GET", "cross-site", false), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGuard(t, iss, jwtguard.WithExtractors(tt.source))
			if w := serve(g.Handler(protected), tt.r); w.Code != tt.want {
				t.Fatalf("status %d, want %d", w.Code, tt.want)
			}
		})
	}
}

// Finding 9: a discovered jwks_uri must stay on the issuer's host, and a
// public health endpoint must not echo fetch errors or URLs.
func TestDiscoveredJWKSOnIssuerHost(t *testing.T) {
	t.Parallel()
	keys := jwtguardtest.NewIssuer(t, "ES256")
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": keys.JWKSURL()})
	}))
	t.Cleanup(srv.Close)
	g, err := jwtguard.New(t.Context(), jwtguard.WithIssuerDiscovery(srv.URL), jwtguard.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	token := keys.Sign(jwtguardtest.Claims{"iss": srv.URL, "aud": audience})
	if err := authErr(g, token); !errors.Is(err, jwtguard.ErrKeysMisconfigured) {
		t.Fatalf("jwks_uri on another host: %v, want ErrKeysMisconfigured", err)
	}
	st := g.Status()
	if !strings.Contains(st.KeySources[0].LastError, "neither the issuer's") {
		t.Fatalf("operator status does not say why: %q", st.KeySources[0].LastError)
	}
	public, _ := json.Marshal(st.Redacted())
	for _, secret := range []string{srv.URL, keys.URL, "127.0.0.1", "jwks"} {
		if strings.Contains(string(public), secret) {
			t.Fatalf("redacted status %s contains %q", public, secret)
		}
	}
	g2, err := jwtguard.New(t.Context(), jwtguard.WithIssuerDiscovery(srv.URL), jwtguard.WithAudience(audience),
		jwtguard.WithDiscoveredJWKSHosts(strings.TrimPrefix(keys.URL, "http://")))
	if err != nil {
		t.Fatal(err)
	}
	if err := authErr(g2, token); err != nil {
		t.Fatalf("allow-listed jwks host: %v", err)
	}
}

// Finding 11: evicting a resolver's issuer makes its cached tokens unusable.
func TestEvictedIssuerCachedTokensDie(t *testing.T) {
	t.Parallel()
	a, b := jwtguardtest.NewIssuer(t, "ES256"), jwtguardtest.NewIssuer(t, "ES256")
	var aRevoked atomic.Bool
	g, err := jwtguard.New(t.Context(), jwtguard.WithAudience(audience),
		jwtguard.WithIssuerResolver(func(ctx context.Context, iss string) ([]jwtguard.IssuerOption, error) {
			switch {
			case iss == a.URL && !aRevoked.Load():
				return []jwtguard.IssuerOption{jwtguard.WithJWKS(a.JWKSURL())}, nil
			case iss == b.URL:
				return []jwtguard.IssuerOption{jwtguard.WithJWKS(b.JWKSURL())}, nil
			}
			return nil, nil
		}, jwtguard.ResolverSettings{MaxIssuers: 1}))
	if err != nil {
		t.Fatal(err)
	}
	tokenA := a.Sign(jwtguardtest.Claims{"aud": audience})
	if err := authErr(g, tokenA); err != nil {
		t.Fatal(err)
	}
	if err := authErr(g, b.Sign(jwtguardtest.Claims{"aud": audience})); err != nil { // evicts a
		t.Fatal(err)
	}
	aRevoked.Store(true)
	if err := authErr(g, tokenA); !errors.Is(err, jwtguard.ErrIssuer) {
		t.Fatalf("token of an evicted issuer: %v (served from the cache?)", err)
	}
}

// Finding 13: JWE segments have one spelling, and a token costs at most
// one private-key operation.
func TestDecryptionKeysNeedDistinctKids(t *testing.T) {
	t.Parallel()
	k1, k2 := rsaKey(t), rsaKey(t)
	_, err := jwtguard.New(t.Context(), jwtguard.WithHMACSecret(make([]byte, 32)), jwtguard.WithIssuer("i"), jwtguard.WithAudience("a"),
		jwtguard.WithDecryptionKey("", "", k1), jwtguard.WithDecryptionKey("", "", k2))
	if !errors.Is(err, jwtguard.ErrConfig) {
		t.Fatalf("two RSA decryption keys without kids: %v, want ErrConfig", err)
	}
	if _, err := jwtguard.New(t.Context(), jwtguard.WithHMACSecret(make([]byte, 32)), jwtguard.WithIssuer("i"), jwtguard.WithAudience("a"),
		jwtguard.WithDecryptionKey("2025", "", k1), jwtguard.WithDecryptionKey("2026", "", k2)); err != nil {
		t.Fatalf("two RSA decryption keys with kids: %v", err)
	}
}

// Finding 14: scopes are delimited by spaces only (RFC 6749 §3.3).
func TestScopeDelimiterIsSpace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scope string
		want  []string
	}{
		{"read write", []string{"read", "write"}},
		{"read  write ", []string{"read", "write"}},
		{"read\twrite", []string{"read\twrite"}},
		{"read\u00a0write", []string{"read\u00a0write"}},
		{"read\nwrite", []string{"read\nwrite"}},
	}
	for _, tt := range tests {
		payload, _ := json.Marshal(map[string]any{"scope": tt.scope})
		c, err := jwtguard.ClaimsFromJSON(payload)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Scopes(); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("scope %q: %q, want %q", tt.scope, got, tt.want)
		}
	}
}

// Findings 15 and 16: conflicting or broken configuration is an ErrConfig,
// never a silent trust or a panic.
func TestConfigRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []jwtguard.Option
	}{
		{"WithIssuer and discovery of another issuer", []jwtguard.Option{jwtguard.WithIssuer("https://a.example"),
			jwtguard.WithIssuerDiscovery("https://b.example"), jwtguard.WithAudience("x")}},
		{"nil *rsa.PublicKey", []jwtguard.Option{jwtguard.WithPublicKey("", (*rsa.PublicKey)(nil)), jwtguard.WithIssuer("i"), jwtguard.WithAudience("a")}},
		{"nil *rsa.PrivateKey as public key", []jwtguard.Option{jwtguard.WithPublicKey("", (*rsa.PrivateKey)(nil)), jwtguard.WithIssuer("i"), jwtguard.WithAudience("a")}},
		{"nil *ecdsa.PublicKey", []jwtguard.Option{jwtguard.WithPublicKey("", (*ecdsa.PublicKey)(nil)), jwtguard.WithIssuer("i"), jwtguard.WithAudience("a")}},
		{"nil *ecdsa.PrivateKey as public key", []jwtguard.Option{jwtguard.WithPublicKey("", (*ecdsa.PrivateKey)(nil)), jwtguard.WithIssuer("i"), jwtguard.WithAudience("a")}},
		{"nil public key", []jwtguard.Option{jwtguard.WithPublicKey("", nil), jwtguard.WithIssuer("i"), jwtguard.WithAudience("a")}},
		{"nil *rsa.PrivateKey decryption key", []jwtguard.Option{jwtguard.WithHMACSecret(make([]byte, 32)), jwtguard.WithIssuer("i"), jwtguard.WithAudience("a"),
			jwtguard.WithDecryptionKey("", "", (*rsa.PrivateKey)(nil))}},
		{"nil *ecdsa.PrivateKey decryption key", []jwtguard.Option{jwtguard.WithHMACSecret(make([]byte, 32)), jwtguard.WithIssuer("i"), jwtguard.WithAudience("a"),
			jwtguard.WithDecryptionKey("", "ECDH-ES", (*ecdsa.PrivateKey)(nil))}},
		{"empty *rsa.PrivateKey decryption key", []jwtguard.Option{jwtguard.WithHMACSecret(make([]byte, 32)), jwtguard.WithIssuer("i"), jwtguard.WithAudience("a"),
			jwtguard.WithDecryptionKey("", "RSA-OAEP", &rsa.PrivateKey{})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := jwtguard.New(t.Context(), tt.opts...); !errors.Is(err, jwtguard.ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
}

// Finding 17: NumericDates must be numbers; JSON may start with white space.
func TestNumericDatesAndWhitespace(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss)
	head := `{"iss":"` + iss.URL + `","aud":"` + audience + `"`
	tests := []struct {
		payload string
		wantErr error
	}{
		{head + `,"exp":null}`, jwtguard.ErrMalformedToken},
		{head + `,"exp":9999999999,"nbf":null}`, jwtguard.ErrMalformedToken},
		{head + `,"exp":9999999999,"iat":null}`, jwtguard.ErrMalformedToken},
		{head + `,"exp":"9999999999"}`, jwtguard.ErrMalformedToken},
		{head + `,"exp":1e400}`, jwtguard.ErrMalformedToken},
		{" \t\r\n" + head + `,"exp":9999999999}` + " \n", nil},
		{"\ufeff" + head + `,"exp":9999999999}`, jwtguard.ErrMalformedToken}, // a BOM is not white space
	}
	for _, tt := range tests {
		if err := authErr(g, iss.SignRaw(nil, []byte(tt.payload))); !errors.Is(err, tt.wantErr) && (err != nil || tt.wantErr != nil) {
			t.Errorf("%q: got %v, want %v", tt.payload, err, tt.wantErr)
		}
	}
}

// Finding 18 (class): every string path of the reader agrees with
// encoding/json on validity: keys and values, with and without escapes,
// header and payload.
func TestStringsAgreeWithEncodingJSON(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss)
	tests := []struct {
		s     string
		valid bool // by RFC 8259 and our stricter rules (UTF-8, paired surrogates)
	}{
		{"\\x0f", false}, {"\x0f", false}, {"\x0f\\b", false}, {"\\b\x0f", false}, {"\x00", false}, {"\x1f", false},
		{"\\u0000", true}, {"\x7f", true}, {"\\x41", false}, {"\\", false}, {"\\u12", false}, {"\\u12G4", false},
		{"\\uD800", false}, {"\\uDC00\\uD800", false}, {"\\uD83D\\uDE00", true}, {"\\uD83D\\u0041", false},
		{"\xff", false}, {"\xed\xa0\x80", false}, {"\xc3\xa9", true}, {"é\\n", true}, {"\\/", true}, {"\\'", false},
		{"\t", false}, {"\u2028", true}, {"\\t\\r\\f\\b\\\\\\\"", true},
	}
	for _, tt := range tests {
		// Where encoding/json calls it invalid, we must too (we are stricter
		// only on bad UTF-8 and lone surrogates, which it silently replaces).
		if !json.Valid([]byte(`"`+tt.s+`"`)) && tt.valid {
			t.Fatalf("table error: %q is invalid JSON", tt.s)
		}
		for _, shape := range []string{`,"x":"%s"`, `,"%s":1`, `,"o":{"%s":["%s"]}`} {
			member := strings.ReplaceAll(shape, "%s", tt.s)
			payload := `{"iss":"` + iss.URL + `","aud":"` + audience + `","exp":9999999999` + member + `}`
			if err := authErr(g, iss.SignRaw(nil, []byte(payload))); tt.valid != (err == nil) {
				t.Errorf("payload member %q: want valid=%v, got %v", member, tt.valid, err)
			}
		}
		header := b64(`{"alg":"ES256","x":"` + tt.s + `"}`)
		c, err := jwtguard.ClaimsFromJSON([]byte(`{"x":"` + tt.s + `"}`))
		if tt.valid != (err == nil) {
			t.Errorf("claims string %q: want valid=%v, got %v %v", tt.s, tt.valid, c, err)
		}
		// A header that does not parse is malformed before any key lookup.
		if err := authErr(g, header+"."+b64(`{}`)+".AAAA"); tt.valid == errors.Is(err, jwtguard.ErrMalformedToken) {
			t.Errorf("header string %q: want valid=%v, got %v", tt.s, tt.valid, err)
		}
	}
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Review, second round: the verified-token cache honours WithMaxTokenAge.
func TestCacheHonoursMaxTokenAge(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	clock := jwtguardtest.NewClock(time.Now())
	iss.SetClock(clock.Now)
	g := newGuard(t, iss, jwtguard.WithClock(clock.Now), jwtguard.WithMaxTokenAge(5*time.Minute))
	token := iss.Sign(jwtguardtest.Claims{"aud": audience, "exp": clock.Now().Add(time.Hour).Unix()})
	if err := authErr(g, token); err != nil {
		t.Fatal(err)
	}
	clock.Add(10 * time.Minute)
	if err := authErr(g, token); !errors.Is(err, jwtguard.ErrExpired) {
		t.Fatalf("token 10 minutes old under WithMaxTokenAge(5m), served from the cache: %v", err)
	}
}

// Review, second round: a guard-level WithoutAudienceCheck is not inherited
// by other trusted issuers.
func TestAudienceOptOutNotInherited(t *testing.T) {
	t.Parallel()
	cognito, entra := jwtguardtest.NewIssuer(t, "ES256"), jwtguardtest.NewIssuer(t, "ES256")
	_, err := jwtguard.New(t.Context(),
		jwtguard.WithJWKS(cognito.JWKSURL()), jwtguard.WithIssuer(cognito.URL), jwtguard.WithoutAudienceCheck(),
		jwtguard.WithTrustedIssuer(entra.URL, jwtguard.WithJWKS(entra.JWKSURL())))
	if !errors.Is(err, jwtguard.ErrConfig) {
		t.Fatalf("trusted issuer without an audience beside a guard-level opt-out: %v, want ErrConfig", err)
	}
	g, err := jwtguard.New(t.Context(),
		jwtguard.WithJWKS(cognito.JWKSURL()), jwtguard.WithIssuer(cognito.URL), jwtguard.WithoutAudienceCheck(),
		jwtguard.WithTrustedIssuer(entra.URL, jwtguard.WithJWKS(entra.JWKSURL()), jwtguard.WithAudience(audience)))
	if err != nil {
		t.Fatal(err)
	}
	if err := authErr(g, entra.Sign(jwtguardtest.Claims{"aud": "some-other-api"})); !errors.Is(err, jwtguard.ErrAudience) {
		t.Fatalf("other API's token: %v", err)
	}
	if err := authErr(g, cognito.Sign(jwtguardtest.Claims{"aud": nil})); err != nil {
		t.Fatalf("the opted-out anchor: %v", err)
	}
}

// Review, second round: a typed-nil transport is a configuration error.
func TestTypedNilTransport(t *testing.T) {
	t.Parallel()
	_, err := jwtguard.New(t.Context(), jwtguard.WithJWKS("https://idp.example.com/jwks"), jwtguard.WithIssuer("https://idp.example.com"),
		jwtguard.WithAudience("api"), jwtguard.WithHTTPClient(&http.Client{Transport: (*http.Transport)(nil)}))
	if !errors.Is(err, jwtguard.ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
}

// Review, second round: a resolver that panics on some issuer fails (503)
// instead of taking the process down.
func TestResolverPanicRefuses(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g, err := jwtguard.New(t.Context(), jwtguard.WithAudience(audience),
		jwtguard.WithIssuerResolver(func(ctx context.Context, s string) ([]jwtguard.IssuerOption, error) {
			panic("tenant table lookup failed")
		}, jwtguard.ResolverSettings{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := authErr(g, iss.Sign(jwtguardtest.Claims{"aud": audience})); !errors.Is(err, jwtguard.ErrKeysUnavailable) {
		t.Fatalf("got %v, want ErrKeysUnavailable", err)
	}
}

// A resolver that cannot decide (its tenant store is down) is not a
// refusal: 503 with Retry-After, nothing remembered, asked again next time.
func TestResolverFailureIsNotRefusal(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	var down atomic.Bool
	down.Store(true)
	var calls atomic.Int64
	g, err := jwtguard.New(t.Context(), jwtguard.WithAudience(audience),
		jwtguard.WithIssuerResolver(func(ctx context.Context, s string) ([]jwtguard.IssuerOption, error) {
			calls.Add(1)
			if down.Load() {
				return nil, errors.New("tenant db down")
			}
			return []jwtguard.IssuerOption{jwtguard.WithJWKS(iss.JWKSURL())}, nil
		}, jwtguard.ResolverSettings{}))
	if err != nil {
		t.Fatal(err)
	}
	token := iss.Sign(jwtguardtest.Claims{"aud": audience})
	w := serve(g.Handler(protected), bearer(token))
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("resolver down: %d %v, want 503 with Retry-After", w.Code, w.Header())
	}
	_, err = g.Authenticate(bearer(token))
	var e *jwtguard.Error
	if !errors.As(err, &e) || !strings.Contains(e.Detail, "tenant db down") {
		t.Fatalf("the cause is not in the detail: %v", err)
	}
	down.Store(false)
	if err := authErr(g, token); err != nil {
		t.Fatalf("resolver back: %v (a failure must not be remembered as a refusal)", err)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d resolver calls, want 3", n)
	}
}
