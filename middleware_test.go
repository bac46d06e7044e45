package jwtguard_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

const audience = "api://orders"

// newGuard builds a guard trusting iss: its JWKS, or its secret for HS*.
func newGuard(t *testing.T, iss *jwtguardtest.Issuer, opts ...jwtguard.Option) *jwtguard.Guard {
	t.Helper()
	base := []jwtguard.Option{jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience(audience)}
	if strings.HasPrefix(iss.Algorithm(), "HS") {
		base = append(base, jwtguard.WithHMACSecret(iss.Secret()))
	} else {
		base = append(base, jwtguard.WithJWKS(iss.JWKSURL()))
	}
	g, err := jwtguard.New(t.Context(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// protected is the handler behind the guard: it echoes the subject.
var protected = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := jwtguard.ClaimsFromContext(r.Context())
	if !ok {
		w.Header().Set("X-Anonymous", "1")
		_, _ = w.Write([]byte("anonymous"))
		return
	}
	_, _ = w.Write([]byte("hello " + c.Subject()))
})

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func bearer(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/orders", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// tamper flips one bit of the signature.
func tamper(token string) string {
	i := strings.LastIndexByte(token, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(token[i+1:])
	sig[len(sig)/2] ^= 1
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestGuardPerAlgorithm(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA", "HS256", "ES384", "RS512"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			iss := jwtguardtest.NewIssuer(t, alg)
			g := newGuard(t, iss)
			h := g.Handler(protected)
			now := time.Now()
			valid := jwtguardtest.Claims{"sub": "alice", "aud": audience}
			with := func(extra jwtguardtest.Claims) jwtguardtest.Claims {
				out := jwtguardtest.Claims{}
				for k, v := range valid {
					out[k] = v
				}
				for k, v := range extra {
					out[k] = v
				}
				return out
			}
			validToken := iss.Sign(valid)
			tests := []struct {
				name       string
				req        *http.Request
				wantStatus int
				wantErr    error
				wantChal   string // substring of WWW-Authenticate
			}{
				{"valid", bearer(validToken), 200, nil, ""},
				{"valid lower-case scheme", func() *http.Request {
					r := bearer("")
					r.Header.Set("Authorization", "bearer "+validToken)
					return r
				}(), 200, nil, ""},
				{"aud as array", bearer(iss.Sign(with(jwtguardtest.Claims{"aud": []string{"other", audience}}))), 200, nil, ""},
				{"no token", httptest.NewRequest("GET", "/", nil), 401, jwtguard.ErrNoToken, `Bearer realm="api"`},
				{"expired", bearer(iss.Sign(with(jwtguardtest.Claims{"exp": now.Add(-2 * time.Minute).Unix()}))), 401, jwtguard.ErrExpired, `error="invalid_token", error_description="token expired"`},
				{"expired within leeway", bearer(iss.Sign(with(jwtguardtest.Claims{"exp": now.Add(-10 * time.Second).Unix()}))), 200, nil, ""},
				{"nbf in future", bearer(iss.Sign(with(jwtguardtest.Claims{"nbf": now.Add(5 * time.Minute).Unix()}))), 401, jwtguard.ErrNotYetValid, `error="invalid_token"`},
				{"iat in future", bearer(iss.Sign(with(jwtguardtest.Claims{"iat": now.Add(5 * time.Minute).Unix()}))), 401, jwtguard.ErrNotYetValid, `error="invalid_token"`},
				{"no exp", bearer(iss.Sign(with(jwtguardtest.Claims{"exp": nil}))), 401, jwtguard.ErrMissingClaim, `error="invalid_token"`},
				{"exp as string", bearer(iss.Sign(with(jwtguardtest.Claims{"exp": "9999999999"}))), 401, jwtguard.ErrMalformedToken, `error="invalid_token"`},
				{"wrong iss", bearer(iss.Sign(with(jwtguardtest.Claims{"iss": "https://evil.example"}))), 401, jwtguard.ErrIssuer, `error="invalid_token"`},
				{"no iss", bearer(iss.Sign(with(jwtguardtest.Claims{"iss": nil}))), 401, jwtguard.ErrMissingClaim, `error="invalid_token"`},
				{"wrong aud", bearer(iss.Sign(with(jwtguardtest.Claims{"aud": "api://billing"}))), 401, jwtguard.ErrAudience, `error="invalid_token"`},
				{"no aud", bearer(iss.Sign(with(jwtguardtest.Claims{"aud": nil}))), 401, jwtguard.ErrMissingClaim, `error="invalid_token"`},
				{"bad signature", bearer(tamper(validToken)), 401, jwtguard.ErrSignature, `error_description="invalid signature"`},
				{"alg none, no signature", bearer(b64(`{"alg":"none"}`) + "." + b64(`{"sub":"x"}`) + "."), 401, jwtguard.ErrMalformedToken, `error="invalid_token"`},
				{"alg none, any signature", bearer(jwtguardtest.Encode([]byte(`{"alg":"none","kid":"`+iss.KeyID()+`"}`), []byte(`{"iss":"`+iss.URL+`","aud":"`+audience+`","exp":9999999999}`), []byte("x"))), 401, jwtguard.ErrUnsupportedAlgorithm, `error="invalid_token"`},
				{"crit header", bearer(iss.SignRaw(map[string]any{"crit": []string{"exp"}, "exp": 1}, mustJSON(with(nil), iss, now))), 401, jwtguard.ErrUnsupportedHeader, `error="invalid_token"`},
				{"malformed base64", bearer("e30.e30.%%%"), 400, jwtguard.ErrInvalidRequest, `error="invalid_request"`},
				{"malformed base64 segment", bearer("eyJ!.e30.e30"), 400, jwtguard.ErrInvalidRequest, `error="invalid_request"`},
				{"padded base64", bearer(b64(`{"alg":"RS256"}`) + ".e30.c2ln="), 401, jwtguard.ErrMalformedToken, `error="invalid_token"`},
				{"malformed header JSON", bearer(b64(`{"alg":`) + ".e30.c2ln"), 401, jwtguard.ErrMalformedToken, `error="invalid_token"`},
				{"malformed payload JSON", bearer(b64(`{"alg":"`+alg+`"}`) + "." + b64(`{"sub":`) + ".c2ln"), 401, jwtguard.ErrMalformedToken, `error="invalid_token"`},
				{"duplicate claim", bearer(iss.SignRaw(nil, []byte(`{"iss":"https://evil.example","iss":"`+iss.URL+`","aud":"`+audience+`","exp":`+fmt.Sprint(now.Add(time.Hour).Unix())+`}`))), 401, jwtguard.ErrMalformedToken, `error="invalid_token"`},
				{"claim names equal but for case", bearer(iss.SignRaw(nil, []byte(`{"iss":"`+iss.URL+`","aud":"`+audience+`","exp":`+fmt.Sprint(now.Add(time.Hour).Unix())+`,"role":"user","Role":"admin"}`))), 401, jwtguard.ErrMalformedToken, `error="invalid_token"`},
				{"duplicate header", bearer(b64(`{"alg":"none","alg":"`+alg+`"}`) + ".e30.c2ln"), 401, jwtguard.ErrMalformedToken, `error="invalid_token"`},
				{"invalid UTF-8 in claims", bearer(iss.SignRaw(nil, []byte("{\"iss\":\""+iss.URL+"\",\"sub\":\"\xff\",\"aud\":\""+audience+"\",\"exp\":9999999999}"))), 401, jwtguard.ErrMalformedToken, `error="invalid_token"`},
				{"payload not an object", bearer(iss.SignRaw(nil, []byte(`"foo"`))), 401, jwtguard.ErrMalformedToken, `error="invalid_token"`},
				{"two segments", bearer("e30.e30"), 401, jwtguard.ErrMalformedToken, `error="invalid_token"`},
				{"JWE-shaped", bearer("e30.e30.e30.e30.e30"), 401, jwtguard.ErrMalformedToken, `error="invalid_token"`},
				{"oversized token", bearer(iss.Sign(with(jwtguardtest.Claims{"pad": strings.Repeat("x", 9000)}))), 401, jwtguard.ErrTokenTooLarge, `error_description="token too large"`},
				{"empty bearer", func() *http.Request {
					r := bearer("")
					r.Header.Set("Authorization", "Bearer ")
					return r
				}(), 400, jwtguard.ErrInvalidRequest, `error="invalid_request"`},
				{"two Authorization headers", func() *http.Request {
					r := bearer(validToken)
					r.Header.Add("Authorization", "Bearer "+validToken)
					return r
				}(), 400, jwtguard.ErrInvalidRequest, `error="invalid_request"`},
				{"basic scheme is no token", func() *http.Request {
					r := bearer("")
					r.Header.Set("Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")
					return r
				}(), 401, jwtguard.ErrNoToken, `Bearer realm="api"`},
			}
			type testCase = struct {
				name       string
				req        *http.Request
				wantStatus int
				wantErr    error
				wantChal   string
			}
			unknownKID := bearer(iss.SignRaw(map[string]any{"kid": "nope"}, mustJSON(with(nil), iss, now)))
			if strings.HasPrefix(alg, "HS") {
				// A secret given with WithHMACSecret has no kid, so it answers any kid.
				tests = append(tests, testCase{"unknown kid, static secret", unknownKID, 200, nil, ""})
			} else {
				tests = append(tests,
					testCase{"unknown kid", unknownKID, 401, jwtguard.ErrUnknownKey, `error_description="unknown signing key"`},
					testCase{"public key as HMAC secret", bearer(confuse(t, iss, now)), 401, jwtguard.ErrUnsupportedAlgorithm, `error="invalid_token"`})
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					w := serve(h, tc.req.Clone(t.Context()))
					if w.Code != tc.wantStatus {
						t.Fatalf("status = %d, want %d; body %s", w.Code, tc.wantStatus, w.Body)
					}
					chal := w.Header().Get("WWW-Authenticate")
					if tc.wantStatus == 200 {
						if got := w.Body.String(); got != "hello alice" {
							t.Fatalf("body = %q", got)
						}
						return
					}
					if !strings.Contains(chal, tc.wantChal) {
						t.Errorf("WWW-Authenticate = %q, want it to contain %q", chal, tc.wantChal)
					}
					if tc.wantErr == jwtguard.ErrNoToken && chal != `Bearer realm="api"` {
						t.Errorf("no-token challenge = %q, want a bare challenge", chal)
					}
					_, err := g.Authenticate(tc.req.Clone(t.Context()))
					if !errors.Is(err, tc.wantErr) {
						t.Errorf("Authenticate error = %v, want %v", err, tc.wantErr)
					}
					var je *jwtguard.Error
					if !errors.As(err, &je) || je.Status != tc.wantStatus {
						t.Errorf("error %v is not an *Error with status %d", err, tc.wantStatus)
					}
					var body struct{ Error, ErrorDescription string }
					if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" {
						t.Errorf("body %q is not a JSON error", w.Body)
					}
				})
			}
		})
	}
}

// mustJSON renders claims with the defaults Sign would add.
func mustJSON(c jwtguardtest.Claims, iss *jwtguardtest.Issuer, now time.Time) []byte {
	full := map[string]any{"iss": iss.URL, "exp": now.Add(time.Minute).Unix()}
	for k, v := range c {
		full[k] = v
	}
	b, _ := json.Marshal(full)
	return b
}

// confuse forges the classic RS256→HS256 token: HMAC over the input with
// the issuer's public key (PEM and DER both tried by attackers) as secret.
func confuse(t *testing.T, iss *jwtguardtest.Issuer, now time.Time) string {
	der, err := x509.MarshalPKIXPublicKey(iss.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	header := b64(`{"alg":"HS256","typ":"JWT","kid":"` + iss.KeyID() + `"}`)
	input := header + "." + base64.RawURLEncoding.EncodeToString(mustJSON(jwtguardtest.Claims{"sub": "mallory", "aud": audience}, iss, now))
	sig, err := jwsbb.Sign(secret, "HS256", []byte(input), nil)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestDisallowedAlgorithm(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "RS256")
	g := newGuard(t, iss, jwtguard.WithAlgorithms("ES256", "PS256"))
	_, err := g.Authenticate(bearer(iss.Sign(jwtguardtest.Claims{"aud": audience})))
	if !errors.Is(err, jwtguard.ErrUnsupportedAlgorithm) {
		t.Fatalf("err = %v, want ErrUnsupportedAlgorithm", err)
	}
}

func TestRequiredType(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss, jwtguard.WithRequiredType("at+jwt"))
	now := time.Now()
	claims := mustJSON(jwtguardtest.Claims{"aud": audience}, iss, now)
	for _, tc := range []struct {
		typ     any
		wantErr error
	}{
		{"at+jwt", nil},
		{"application/AT+JWT", nil},
		{"JWT", jwtguard.ErrUnsupportedHeader},
		{nil, jwtguard.ErrUnsupportedHeader},
	} {
		_, err := g.Authenticate(bearer(iss.SignRaw(map[string]any{"typ": tc.typ}, claims)))
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("typ %v: err = %v, want %v", tc.typ, err, tc.wantErr)
		}
	}
}

func TestExtractors(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	token := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience})
	g := newGuard(t, iss, jwtguard.WithExtractors(
		jwtguard.FromAuthorizationHeader(),
		jwtguard.FromCookie("access_token"),
		jwtguard.FromHeader("X-Access-Token"),
		jwtguard.InsecureFromQuery("access_token"),
	), jwtguard.WithoutCrossOriginCheck())
	h := g.Handler(protected)
	req := func(mod func(r *http.Request)) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/orders", nil)
		mod(r)
		return r
	}
	cookie := func(v string) func(r *http.Request) {
		return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "access_token", Value: v}) }
	}
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantErr    error
	}{
		{"header", bearer(token), 200, nil},
		{"cookie", req(cookie(token)), 200, nil},
		{"custom header", req(func(r *http.Request) { r.Header.Set("X-Access-Token", token) }), 200, nil},
		{"query", httptest.NewRequest("GET", "/orders?access_token="+token, nil), 200, nil},
		{"empty cookie is no token", req(cookie("")), 401, jwtguard.ErrNoToken},
		{"cookie and header", func() *http.Request { r := bearer(token); cookie(token)(r); return r }(), 400, jwtguard.ErrMultipleTokens},
		{"header and query", func() *http.Request {
			r := httptest.NewRequest("GET", "/orders?access_token="+token, nil)
			r.Header.Set("Authorization", "Bearer "+token)
			return r
		}(), 400, jwtguard.ErrMultipleTokens},
		{"cookie twice", req(func(r *http.Request) { cookie(token)(r); cookie(token)(r) }), 400, jwtguard.ErrInvalidRequest},
		{"query twice", httptest.NewRequest("GET", "/orders?access_token=a&access_token=b", nil), 400, jwtguard.ErrInvalidRequest},
		{"invalid header token does not fall back", func() *http.Request { r := bearer(tamper(token)); return r }(), 401, jwtguard.ErrSignature},
		{"malformed header with valid cookie", func() *http.Request {
			r := req(cookie(token))
			r.Header.Set("Authorization", "Bearer a b")
			return r
		}(), 400, jwtguard.ErrInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := serve(h, tc.req.Clone(t.Context()))
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tc.wantStatus, w.Body)
			}
			if tc.wantErr != nil {
				if _, err := g.Authenticate(tc.req.Clone(t.Context())); !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			}
		})
	}
}

func TestCredentialsOptional(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "EdDSA")
	g := newGuard(t, iss, jwtguard.WithCredentialsOptional())
	h := g.Handler(protected)
	if w := serve(h, httptest.NewRequest("GET", "/", nil)); w.Code != 200 || w.Body.String() != "anonymous" {
		t.Fatalf("anonymous: %d %q", w.Code, w.Body)
	}
	if w := serve(h, bearer(iss.Sign(jwtguardtest.Claims{"sub": "bob", "aud": audience}))); w.Body.String() != "hello bob" {
		t.Fatalf("authenticated: %d %q", w.Code, w.Body)
	}
	bad := iss.Sign(jwtguardtest.Claims{"sub": "bob", "aud": "elsewhere"})
	if w := serve(h, bearer(bad)); w.Code != 401 {
		t.Fatalf("invalid token with optional credentials: %d, want 401", w.Code)
	}
}

// TestPreflightNeedsToken: by default a CORS preflight without a token
// never reaches the wrapped handler (a method-agnostic handler would run
// unauthenticated); passing it through is a loudly named opt-in, and
// Require then lets it through too.
func TestPreflightNeedsToken(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	r := httptest.NewRequest(http.MethodOptions, "/orders", nil)
	r.Header.Set("Origin", "https://app.example")
	r.Header.Set("Access-Control-Request-Method", "POST")
	ran := false
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true })
	if w := serve(newGuard(t, iss).Handler(next), r); w.Code != 401 || ran {
		t.Fatalf("preflight: %d (handler ran: %v), want 401 without running the handler", w.Code, ran)
	}
	g := newGuard(t, iss, jwtguard.InsecurePassUnauthenticatedPreflight())
	if w := serve(g.Handler(g.RequireScopes("orders:write")(protected)), r); w.Code != 200 {
		t.Fatalf("preflight with InsecurePassUnauthenticatedPreflight: %d, want 200", w.Code)
	}
	plain := httptest.NewRequest(http.MethodOptions, "/orders", nil)
	if w := serve(g.Handler(protected), plain); w.Code != 401 {
		t.Fatalf("OPTIONS without preflight headers: %d, want 401", w.Code)
	}
}

func TestScopes(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss)
	h := g.Handler(g.RequireScopes("orders:read", "orders:write")(protected))
	tests := []struct {
		name       string
		claims     jwtguardtest.Claims
		wantStatus int
	}{
		{"scope string", jwtguardtest.Claims{"scope": "orders:read orders:write profile"}, 200},
		{"scp array", jwtguardtest.Claims{"scp": []string{"orders:write", "orders:read"}}, 200},
		{"scp string (Entra)", jwtguardtest.Claims{"scp": "orders:read orders:write"}, 200},
		{"split across scope and scp", jwtguardtest.Claims{"scope": "orders:read", "scp": []string{"orders:write"}}, 200},
		{"one missing", jwtguardtest.Claims{"scope": "orders:read"}, 403},
		{"prefix is not a scope", jwtguardtest.Claims{"scope": "orders:read orders:writer"}, 403},
		{"none", jwtguardtest.Claims{}, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.claims["aud"] = audience
			tc.claims["sub"] = "alice"
			w := serve(h, bearer(iss.Sign(tc.claims)))
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tc.wantStatus)
			}
			if tc.wantStatus == 403 {
				want := `Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="orders:read orders:write"`
				if got := w.Header().Get("WWW-Authenticate"); got != want {
					t.Fatalf("challenge = %q\nwant        %q", got, want)
				}
			}
		})
	}
	// Without the guard in front, the requirement refuses with 401.
	if w := serve(g.RequireScopes("x")(protected), httptest.NewRequest("GET", "/", nil)); w.Code != 401 {
		t.Fatalf("no claims: %d, want 401", w.Code)
	}
}

func TestClaimRequirement(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss)
	admin := jwtguard.Claim(func(c *jwtguard.Claims) bool {
		var v struct {
			Roles []string `json:"roles"`
		}
		return c.Decode(&v) == nil && len(v.Roles) > 0 && v.Roles[0] == "admin"
	})
	h := g.Handler(g.Require(admin)(protected))
	if w := serve(h, bearer(iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "a", "roles": []string{"admin"}}))); w.Code != 200 {
		t.Fatalf("admin: %d", w.Code)
	}
	if w := serve(h, bearer(iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "a", "roles": []string{"user"}}))); w.Code != 403 {
		t.Fatalf("user: %d, want 403", w.Code)
	}
}

func TestClaimsAccessors(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss)
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	c, err := g.Authenticate(bearer(iss.Sign(jwtguardtest.Claims{
		"sub": "alice", "aud": []string{audience, "x"}, "jti": "id-1", "exp": exp.Unix(),
		"nbf": 1000, "tenant": "acme", "scope": "a b",
	})))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject() != "alice" || c.ID() != "id-1" || c.Issuer() != iss.URL || !c.ExpiresAt().Equal(exp) ||
		c.NotBefore().Unix() != 1000 || len(c.Audience()) != 2 || !c.HasScope("b") {
		t.Fatalf("claims = %+v", c)
	}
	type custom struct {
		Tenant string `json:"tenant"`
	}
	v, err := jwtguard.DecodeClaims[custom](c)
	if err != nil || v.Tenant != "acme" {
		t.Fatalf("DecodeClaims = %+v, %v", v, err)
	}
	// Claims are shared between requests: mutating what accessors return must not leak.
	c.Audience()[0] = "mutated"
	c.Scopes()[0] = "mutated"
	if c.Audience()[0] != audience || !c.HasScope("a") {
		t.Fatal("accessor results alias the claims")
	}
}

func TestLogsNeverContainTokens(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	var buf bytes.Buffer
	var mu syncWriter
	mu.w = &buf
	g := newGuard(t, iss, jwtguard.WithLogger(slog.New(slog.NewJSONHandler(&mu, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	token := iss.Sign(jwtguardtest.Claims{"aud": "wrong", "sub": "secret-subject"})
	h := g.Handler(protected)
	for _, r := range []*http.Request{bearer(token), bearer(tamper(token)), bearer("garbage.garbage.garbage")} {
		serve(h, r)
	}
	out := mu.String()
	if !strings.Contains(out, "request refused") {
		t.Fatalf("expected refusals to be logged at debug, got %q", out)
	}
	for _, secret := range []string{token, strings.Split(token, ".")[1], "secret-subject", "garbage"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log contains token material %q: %s", secret, out)
		}
	}
}

func TestErrorHandler(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	var got error
	g := newGuard(t, iss, jwtguard.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		http.Error(w, "nope", http.StatusTeapot)
	}))
	w := serve(g.Handler(protected), httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusTeapot || !errors.Is(got, jwtguard.ErrNoToken) {
		t.Fatalf("custom handler: %d, %v", w.Code, got)
	}
}

func TestValidator(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	revoked := "jti-revoked"
	g := newGuard(t, iss, jwtguard.WithValidator(func(ctx context.Context, c *jwtguard.Claims) error {
		if c.ID() == revoked {
			return errors.New("revoked: internal detail")
		}
		return nil
	}))
	token := iss.Sign(jwtguardtest.Claims{"aud": audience, "jti": revoked})
	for range 2 { // the second time the token would come from the verified-token cache
		w := serve(g.Handler(protected), bearer(token))
		if w.Code != 401 || strings.Contains(w.Body.String()+w.Header().Get("WWW-Authenticate"), "internal detail") {
			t.Fatalf("revoked token: %d %q", w.Code, w.Body)
		}
	}
	_, err := g.Authenticate(bearer(token))
	if !errors.Is(err, jwtguard.ErrRejected) {
		t.Fatalf("err = %v, want ErrRejected", err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	tests := []struct {
		name string
		opts []jwtguard.Option
	}{
		{"no keys", []jwtguard.Option{jwtguard.WithIssuer("x"), jwtguard.WithAudience("y")}},
		{"no issuer", []jwtguard.Option{jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithAudience("y")}},
		{"no audience", []jwtguard.Option{jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer("x")}},
		{"http JWKS on a public host", []jwtguard.Option{jwtguard.WithJWKS("http://idp.example.com/jwks"), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y")}},
		{"relative JWKS URL", []jwtguard.Option{jwtguard.WithJWKS("/jwks"), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y")}},
		{"short HMAC secret", []jwtguard.Option{jwtguard.WithHMACSecret([]byte("secret")), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y")}},
		{"unknown algorithm", []jwtguard.Option{jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y"), jwtguard.WithAlgorithms("none")}},
		{"secret as public key", []jwtguard.Option{jwtguard.WithPublicKey("k", []byte(strings.Repeat("s", 40))), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y")}},
		{"bad PEM", []jwtguard.Option{jwtguard.WithPEM([]byte("not pem")), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y")}},
		{"negative leeway", []jwtguard.Option{jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y"), jwtguard.WithLeeway(-time.Second)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, err := jwtguard.New(t.Context(), tc.opts...)
			if !errors.Is(err, jwtguard.ErrConfig) || g != nil {
				t.Fatalf("New = %v, %v; want ErrConfig", g, err)
			}
		})
	}
}

func TestStaticKeys(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			iss := jwtguardtest.NewIssuer(t, alg)
			der, err := x509.MarshalPKIXPublicKey(iss.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			token := iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "s"})
			for name, opt := range map[string]jwtguard.Option{
				"WithPublicKey": jwtguard.WithPublicKey("", iss.PublicKey()),
				"WithPEM":       jwtguard.WithPEM(pemKey),
				"WithJWKSet":    jwtguard.WithJWKSet(iss.JWKS()),
			} {
				g, err := jwtguard.New(t.Context(), opt, jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience(audience))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if _, err := g.Authenticate(bearer(token)); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
		})
	}
}

func TestKeyRotationThroughUnknownKID(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss)
	if _, err := g.Authenticate(bearer(iss.Sign(jwtguardtest.Claims{"aud": audience}))); err != nil {
		t.Fatal(err)
	}
	iss.Rotate()
	iss.RetireOldKeys()
	// The first token signed by the new key is accepted at once.
	if _, err := g.Authenticate(bearer(iss.Sign(jwtguardtest.Claims{"aud": audience}))); err != nil {
		t.Fatalf("token of rotated key: %v", err)
	}
}

func TestChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		realm string
		err   error
		want  string
	}{
		{"api", jwtguard.ErrNoToken, `Bearer realm="api"`},
		{"", jwtguard.ErrNoToken, `Bearer`},
		{"api", jwtguard.ErrExpired, `Bearer realm="api", error="invalid_token", error_description="token expired"`},
		{"a\"b\\c\r\nd", jwtguard.ErrInvalidRequest, `Bearer realm="abcd", error="invalid_request", error_description="malformed credentials"`},
		{"api", &jwtguard.Error{Status: 403, Code: "insufficient_scope", Description: "needs \"x\"\n", Scope: "a b"}, `Bearer realm="api", error="insufficient_scope", error_description="needs x", scope="a b"`},
	}
	for _, tc := range tests {
		if got := jwtguard.Challenge(tc.realm, tc.err); got != tc.want {
			t.Errorf("Challenge(%q, %v) = %q, want %q", tc.realm, tc.err, got, tc.want)
		}
	}
}

// syncWriter is a log sink safe for the guard's concurrent use.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
