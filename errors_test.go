package jwtguard_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestErrorStrings pins the text of every sentinel and of composed errors:
// from v0.1.0 on, changing one is a breaking change.
func TestErrorStrings(t *testing.T) {
	t.Parallel()
	sentinels := map[error]string{
		jwtguard.ErrNoToken:               "jwtguard: no token in request",
		jwtguard.ErrInvalidRequest:        "jwtguard: malformed request",
		jwtguard.ErrMultipleTokens:        "jwtguard: more than one token in request",
		jwtguard.ErrMalformedToken:        "jwtguard: malformed token",
		jwtguard.ErrTokenTooLarge:         "jwtguard: token too large",
		jwtguard.ErrUnsupportedAlgorithm:  "jwtguard: algorithm not allowed",
		jwtguard.ErrUnsupportedHeader:     "jwtguard: unsupported token header",
		jwtguard.ErrEncryption:            "jwtguard: token encryption not accepted",
		jwtguard.ErrUnknownKey:            "jwtguard: unknown signing key",
		jwtguard.ErrSignature:             "jwtguard: invalid signature",
		jwtguard.ErrExpired:               "jwtguard: token expired",
		jwtguard.ErrNotYetValid:           "jwtguard: token not yet valid",
		jwtguard.ErrMissingClaim:          "jwtguard: required claim missing",
		jwtguard.ErrIssuer:                "jwtguard: untrusted issuer",
		jwtguard.ErrAudience:              "jwtguard: audience not accepted",
		jwtguard.ErrRejected:              "jwtguard: token rejected",
		jwtguard.ErrInsufficientScope:     "jwtguard: insufficient scope",
		jwtguard.ErrForbidden:             "jwtguard: forbidden",
		jwtguard.ErrCrossOrigin:           "jwtguard: cross-origin request refused",
		jwtguard.ErrKeysUnavailable:       "jwtguard: signing keys unavailable",
		jwtguard.ErrKeysMisconfigured:     "jwtguard: signing keys misconfigured",
		jwtguard.ErrConfig:                "jwtguard: invalid configuration",
		jwtguard.ErrRevoked:               "jwtguard: token revoked",
		jwtguard.ErrRevocationUnavailable: "jwtguard: revocation state unavailable",
	}
	for err, want := range sentinels {
		if err.Error() != want {
			t.Errorf("sentinel %q, want %q", err, want)
		}
	}

	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss)
	composed := []struct {
		name string
		err  error
		want string
	}{
		{"no token", noToken(g), "jwtguard: no token in request: no token in authorization header"},
		{"malformed", authErr(g, "a.b"), "jwtguard: malformed token: not three dot-separated segments"},
		{"issuer", authErr(g, iss.Sign(jwtguardtest.Claims{"iss": iss.URL + "/", "aud": audience})),
			`jwtguard: untrusted issuer: issuer "` + iss.URL + `/" not trusted (trusted: "` + iss.URL + `")`},
		{"audience", authErr(g, iss.Sign(jwtguardtest.Claims{"aud": []string{"billing", "account"}})),
			`jwtguard: audience not accepted: audience ["billing", "account"] not accepted (accepted: "` + audience + `")`},
		{"config", newErr(jwtguard.WithJWKS("http://idp.example.com/jwks"), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y")),
			`jwtguard: invalid configuration: issuer "x": "http://idp.example.com/jwks" must use https (InsecureAllowHTTPKeys allows http)`},
		{"empty discovery", newErr(jwtguard.WithIssuerDiscovery(""), jwtguard.WithAudience("y")),
			"jwtguard: invalid configuration: WithIssuerDiscovery: empty issuer (an unset environment variable?)"},
		{"short secret", newErr(jwtguard.WithHMACSecret(make([]byte, 32)), jwtguard.WithAlgorithms("HS512"), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y")),
			`jwtguard: invalid configuration: issuer "x": HS512 needs a secret of at least 64 bytes; WithHMACSecret has 32`},
	}
	for _, c := range composed {
		if c.err == nil || c.err.Error() != c.want {
			t.Errorf("%s: %v\n want %s", c.name, c.err, c.want)
		}
	}
}

func noToken(g *jwtguard.Guard) error {
	_, err := g.Authenticate(httptest.NewRequest(http.MethodGet, "/", nil))
	return err
}

func newErr(opts ...jwtguard.Option) error {
	_, err := jwtguard.New(context.Background(), opts...)
	return err
}

// TestRefusalDetail: every refusal says why, with the token's facts, to
// errors.As and the log; the response keeps the generic description.
func TestRefusalDetail(t *testing.T) {
	t.Parallel()
	clock := jwtguardtest.NewClock(time.Now().Truncate(time.Second))
	iss := jwtguardtest.NewIssuer(t, "ES256")
	iss.SetClock(clock.Now)
	var logs bytes.Buffer
	g := newGuard(t, iss, jwtguard.WithClock(clock.Now),
		jwtguard.WithLogger(slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	future := iss.Sign(jwtguardtest.Claims{"aud": audience, "iat": clock.Now().Add(2 * time.Minute).Unix()})
	w := serve(g.Handler(protected), bearer(future))
	if w.Code != 401 || strings.Contains(w.Body.String(), "2m0s") || strings.Contains(w.Header().Get("WWW-Authenticate"), "2m0s") {
		t.Fatalf("response leaks the detail: %d %q %q", w.Code, w.Header(), w.Body)
	}
	_, err := g.Authenticate(bearer(future))
	var e *jwtguard.Error
	if !errors.As(err, &e) || e.Detail != "iat 2m0s in the future (leeway 30s)" {
		t.Fatalf("detail: %+v", e)
	}
	if e.Token == nil || e.Token.Issuer != iss.URL || e.Token.Alg != "ES256" || e.Token.Kid == "" || e.Token.Leeway != 30*time.Second || e.Token.IssuedAt.IsZero() {
		t.Fatalf("token facts: %+v", e.Token)
	}
	log := logs.String()
	if !strings.Contains(log, `reason="jwtguard: token not yet valid: iat 2m0s in the future (leeway 30s)"`) || !strings.Contains(log, "token.iss="+iss.URL) {
		t.Fatalf("log line does not say why: %s", log)
	}
	if strings.Contains(log, future) || strings.Contains(log, strings.Split(future, ".")[1]) {
		t.Fatal("log contains the token")
	}
}

// TestAuthorizationFailuresAre403: a requirement's plain error refuses with
// 403 (the token is fine; it may not do this), keeping the cause; a
// validator's plain error refuses the token with 401.
func TestAuthorizationFailuresAre403(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	cause := errors.New("tenant suspended")
	g := newGuard(t, iss)
	token := iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "alice", "permissions": []string{"read:orders"}, "scope": "a b"})
	tests := []struct {
		name       string
		req        jwtguard.Requirement
		wantStatus int
		wantScope  string
	}{
		{"plain error", func(*jwtguard.Claims) error { return cause }, 403, ""},
		{"permission held", jwtguard.Permissions("read:orders"), 200, ""},
		{"permission missing", jwtguard.Permissions("read:orders", "write:orders"), 403, ""},
		{"any permission", jwtguard.AnyPermission("admin", "read:orders"), 200, ""},
		{"no permission of several", jwtguard.AnyPermission("admin", "root"), 403, ""},
		{"any scope", jwtguard.AnyScope("c", "b"), 200, ""},
		{"no scope of several", jwtguard.AnyScope("c", "d"), 403, "c d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := serve(g.Handler(g.Require(tt.req)(protected)), bearer(token))
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tt.wantStatus)
			}
			if tt.wantScope != "" && !strings.Contains(w.Header().Get("WWW-Authenticate"), `scope="`+tt.wantScope+`"`) {
				t.Fatalf("challenge %q does not name %q", w.Header().Get("WWW-Authenticate"), tt.wantScope)
			}
		})
	}
	r := bearer(token)
	c, _ := g.Authenticate(r)
	err := jwtguard.Authorize(jwtguard.NewContext(context.Background(), c), func(*jwtguard.Claims) error { return cause })
	if !errors.Is(err, jwtguard.ErrForbidden) || !errors.Is(err, cause) {
		t.Fatalf("requirement error %v does not carry both the sentinel and the cause", err)
	}
	gv := newGuard(t, iss, jwtguard.WithValidator(func(context.Context, *jwtguard.Claims) error { return cause }))
	_, err = gv.Authenticate(bearer(token))
	var e *jwtguard.Error
	if !errors.As(err, &e) || e.Status != 401 || !errors.Is(err, jwtguard.ErrRejected) || !errors.Is(err, cause) {
		t.Fatalf("validator error: %v", err)
	}
}

// TestHeaderFactsAndRawToken: handlers see kid, alg and typ, and the raw
// token only when asked for.
func TestHeaderFactsAndRawToken(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	token := iss.Sign(jwtguardtest.Claims{"aud": audience})
	for _, keep := range []bool{false, true} {
		var opts []jwtguard.Option
		if keep {
			opts = append(opts, jwtguard.WithRawToken())
		}
		g := newGuard(t, iss, opts...)
		for range 2 { // a miss, then a cache hit
			c, err := g.Authenticate(bearer(token))
			if err != nil {
				t.Fatal(err)
			}
			if h := c.Header(); h.Alg != "ES256" || h.Kid != iss.KeyID() || h.Typ != "JWT" {
				t.Fatalf("header facts %+v", h)
			}
			if got := c.RawToken(); (got == token) != keep || (!keep && got != "") {
				t.Fatalf("raw token with WithRawToken=%v: %q", keep, got)
			}
		}
	}
}

// TestKeyFailuresAreNeverSilent: with no logger, a failing key source is
// reported to slog's default logger at Warn, once per change.
func TestKeyFailuresAreNeverSilent(t *testing.T) { // not parallel: it swaps slog's default logger
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	t.Cleanup(down.Close)
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(down.URL), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := g.WaitReady(ctx); !errors.Is(err, jwtguard.ErrKeysUnavailable) || !strings.Contains(err.Error(), "HTTP status 502") {
		t.Fatalf("WaitReady: %v", err)
	}
	for range 3 {
		_, _ = g.Verify(t.Context(), "a.b.c")
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"jwtguard: key fetch failing"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, logs.String())
	}
}

// TestClientMistakesSaySo: the commonest client mistakes get details that
// name them.
func TestClientMistakesSaySo(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss)
	token := iss.Sign(jwtguardtest.Claims{"aud": audience})
	tests := []struct {
		name   string
		header string
		want   string
	}{
		{"no Bearer prefix", token, `scheme is "` + token[:20] + `…", not Bearer`},
		{"quoted token", `Bearer "` + token + `"`, "outside RFC 6750's b64token at byte 0"},
		{"trailing newline", "Bearer " + token + "\n", "outside RFC 6750's b64token at byte"},
		{"Basic", "Basic dXNlcjpwYXNz", `scheme is "Basic", not Bearer`},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Authorization"] = []string{tt.header}
		_, err := g.Authenticate(r)
		var e *jwtguard.Error
		if !errors.As(err, &e) || !strings.Contains(e.Detail, tt.want) {
			t.Errorf("%s: %v, want a detail with %q", tt.name, err, tt.want)
		}
	}
	_, err := g.Verify(t.Context(), "Bearer "+token)
	if err == nil || !strings.Contains(err.Error(), `pass Verify the token alone`) {
		t.Errorf("Verify with the scheme: %v", err)
	}
}

// An HS512 token against a 32-byte secret says why, not only that HS512 is
// not accepted.
func TestShortSecretSaysWhy(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "HS256")
	g, err := jwtguard.New(t.Context(), jwtguard.WithHMACSecret(make([]byte, 32)), jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	token := iss.SignRaw(map[string]any{"alg": "HS512"}, []byte(`{"iss":"`+iss.URL+`","aud":"`+audience+`","exp":9999999999}`))
	_, err = g.Authenticate(bearer(token))
	if err == nil || !strings.Contains(err.Error(), "HS512 needs a secret of at least 64 bytes, WithHMACSecret has 32") {
		t.Fatalf("got %v", err)
	}
}
