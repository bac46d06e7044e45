package jwtguard_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/jose"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

const apiURL = "https://api.example.com/orders"

// dpopClient is a client with its own key pair, as a browser or an app
// would hold it.
type dpopClient struct {
	priv crypto.Signer
	alg  string
	jwk  map[string]any // the public JWK
	jkt  string         // its RFC 7638 thumbprint, computed by jwx
	n    atomic.Int64   // proofs signed: parallel subtests share a client
}

func newDPoPClient(t testing.TB) *dpopClient {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return clientFor(t, priv, "ES256")
}

func clientFor(t testing.TB, priv crypto.Signer, alg string) *dpopClient {
	k, err := jwk.Import(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := k.Thumbprint(crypto.SHA256)
	doc, _ := json.Marshal(k)
	var m map[string]any
	_ = json.Unmarshal(doc, &m)
	return &dpopClient{priv: priv, alg: alg, jwk: m, jkt: base64.RawURLEncoding.EncodeToString(tp)}
}

func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// proof signs a DPoP proof for method and uri at now, bound to token.
// header and claims override the defaults (a nil value removes one).
func (c *dpopClient) proof(t testing.TB, method, uri, token string, now time.Time, header, claims map[string]any) string {
	t.Helper()
	n := int(c.n.Add(1))
	h := map[string]any{"typ": "dpop+jwt", "alg": c.alg, "jwk": c.jwk}
	p := map[string]any{"jti": "proof-" + strings.Repeat("x", n%3) + strconv.Itoa(n) + "-" + time.Now().Format(time.RFC3339Nano), "htm": method, "htu": uri,
		"iat": now.Unix(), "ath": ath(token)}
	for k, v := range header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	for k, v := range claims {
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	hb, _ := json.Marshal(h)
	pb, _ := json.Marshal(p)
	return c.signRaw(t, hb, pb)
}

func (c *dpopClient) signRaw(t testing.TB, header, payload []byte) string {
	input := b64(string(header)) + "." + b64(string(payload))
	sig, err := jose.SignInput(c.priv, c.alg, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

type dpopSetup struct {
	iss    *jwtguardtest.Issuer
	clock  *jwtguardtest.Clock
	client *dpopClient
	token  string // bound to client
}

func newDPoPSetup(t *testing.T) *dpopSetup {
	t.Helper()
	s := &dpopSetup{iss: jwtguardtest.NewIssuer(t, "ES256"), clock: jwtguardtest.NewClock(time.Now()), client: newDPoPClient(t)}
	s.iss.SetClock(s.clock.Now)
	s.token = s.iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "alice", "cnf": map[string]any{"jkt": s.client.jkt}})
	return s
}

func (s *dpopSetup) guard(t *testing.T, opts ...jwtguard.Option) *jwtguard.Guard {
	return newGuard(t, s.iss, append([]jwtguard.Option{jwtguard.WithClock(s.clock.Now)}, opts...)...)
}

func dpopRequest(method, target, token string, proofs ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Header.Set("Authorization", "DPoP "+token)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

func TestDPoPAccepts(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired))
	now := s.clock.Now()
	for i := range 4 { // the token enters the cache on its second use, then hits
		r := dpopRequest(http.MethodGet, apiURL+"?page=2", s.token, s.client.proof(t, "GET", apiURL, s.token, now, nil, nil))
		w := serve(g.Handler(protected), r)
		if w.Code != http.StatusOK || w.Body.String() != "hello alice" {
			t.Fatalf("request %d: %d %s %s", i, w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
		}
	}
	if st := g.Status(); st.CacheHits < 2 {
		t.Fatalf("cache hits %d: the access token should hit the cache while each proof is new", st.CacheHits)
	}
	c, err := g.Authenticate(dpopRequest("POST", apiURL, s.token, s.client.proof(t, "POST", apiURL, s.token, now, nil, nil)))
	if err != nil || c.KeyThumbprint() != s.client.jkt {
		t.Fatalf("claims %v, %v", c, err)
	}
}

func TestDPoPHostile(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	now := s.clock.Now()
	other := newDPoPClient(t)
	otherToken := s.iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "bob", "cnf": map[string]any{"jkt": s.client.jkt}})
	unbound := s.iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "carol"})
	proof := func(h, c map[string]any) string { return s.client.proof(t, "GET", apiURL, s.token, now, h, c) }
	privKey, _ := jwk.Import(s.client.priv)
	privDoc, _ := json.Marshal(privKey)
	var privJWK map[string]any
	_ = json.Unmarshal(privDoc, &privJWK)
	nested := strings.Repeat(`{"a":`, 20) + "1" + strings.Repeat("}", 20)
	deep := s.client.signRaw(t, []byte(`{"typ":"dpop+jwt","alg":"ES256","jwk":`+jsonText(s.client.jwk)+`}`),
		[]byte(`{"jti":"deep","htm":"GET","htu":"`+apiURL+`","iat":`+itoa(now.Unix())+`,"ath":"`+ath(s.token)+`","x":`+nested+`}`))
	dup := s.client.signRaw(t, []byte(`{"typ":"dpop+jwt","alg":"ES256","jwk":`+jsonText(s.client.jwk)+`}`),
		[]byte(`{"jti":"a","jti":"b","htm":"GET","htu":"`+apiURL+`","iat":`+itoa(now.Unix())+`,"ath":"`+ath(s.token)+`"}`))
	hs := "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkhTMjU2In0." + b64(`{"jti":"h","htm":"GET","htu":"`+apiURL+`","iat":1}`) + ".c2ln"
	none := b64(`{"typ":"dpop+jwt","alg":"none","jwk":`+jsonText(s.client.jwk)+`}`) + "." + b64(`{"jti":"n"}`) + ".AA"
	tampered := tamper(proof(nil, nil))

	for _, tc := range []struct {
		name    string
		req     *http.Request
		wantErr error // nil: accepted
	}{
		{"good", dpopRequest("GET", apiURL, s.token, proof(nil, nil)), nil},
		{"htu with query and fragment (ignored, RFC 9449 §4.3)", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"htu": apiURL + "?a=1#f"})), nil},
		{"htu scheme and host in upper case", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"htu": "HTTPS://API.Example.COM/orders"})), nil},
		{"htu with the default port", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"htu": "https://api.example.com:443/orders"})), nil},
		{"htu with another port", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"htu": "https://api.example.com:8443/orders"})), jwtguard.ErrInvalidDPoPProof},
		{"htu path in another case", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"htu": "https://api.example.com/Orders"})), jwtguard.ErrInvalidDPoPProof},
		{"htu another path", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"htu": "https://api.example.com/admin"})), jwtguard.ErrInvalidDPoPProof},
		{"htu http for https", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"htu": "http://api.example.com/orders"})), jwtguard.ErrInvalidDPoPProof},
		{"htu relative", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"htu": "/orders"})), jwtguard.ErrInvalidDPoPProof},
		{"wrong htm", dpopRequest("POST", apiURL, s.token, proof(nil, nil)), jwtguard.ErrInvalidDPoPProof},
		{"htm lower case", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"htm": "get"})), jwtguard.ErrInvalidDPoPProof},
		{"stale iat", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"iat": now.Add(-61 * time.Second).Unix()})), jwtguard.ErrInvalidDPoPProof},
		{"future iat", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"iat": now.Add(6 * time.Second).Unix()})), jwtguard.ErrInvalidDPoPProof},
		{"iat a string", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"iat": "now"})), jwtguard.ErrInvalidDPoPProof},
		{"no iat", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"iat": nil})), jwtguard.ErrInvalidDPoPProof},
		{"no jti", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"jti": nil})), jwtguard.ErrInvalidDPoPProof},
		{"ath mismatch", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"ath": ath("another")})), jwtguard.ErrInvalidDPoPProof},
		{"no ath", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"ath": nil})), jwtguard.ErrInvalidDPoPProof},
		{"proof reused with another access token", dpopRequest("GET", apiURL, otherToken, proof(nil, nil)), jwtguard.ErrInvalidDPoPProof},
		{"proof key is not cnf.jkt", dpopRequest("GET", apiURL, s.token, other.proof(t, "GET", apiURL, s.token, now, nil, nil)), jwtguard.ErrInvalidDPoPProof},
		{"private key in jwk", dpopRequest("GET", apiURL, s.token, proof(map[string]any{"jwk": privJWK}, nil)), jwtguard.ErrInvalidDPoPProof},
		{"no jwk", dpopRequest("GET", apiURL, s.token, proof(map[string]any{"jwk": nil}, nil)), jwtguard.ErrInvalidDPoPProof},
		{"alg none", dpopRequest("GET", apiURL, s.token, none), jwtguard.ErrInvalidDPoPProof},
		{"alg HS256", dpopRequest("GET", apiURL, s.token, hs), jwtguard.ErrInvalidDPoPProof},
		{"alg ES384 with a P-256 key", dpopRequest("GET", apiURL, s.token, proof(map[string]any{"alg": "ES384"}, nil)), jwtguard.ErrInvalidDPoPProof},
		{"missing typ", dpopRequest("GET", apiURL, s.token, proof(map[string]any{"typ": nil}, nil)), jwtguard.ErrInvalidDPoPProof},
		{"typ JWT", dpopRequest("GET", apiURL, s.token, proof(map[string]any{"typ": "JWT"}, nil)), jwtguard.ErrInvalidDPoPProof},
		{"crit header", dpopRequest("GET", apiURL, s.token, proof(map[string]any{"crit": []string{"exp"}}, nil)), jwtguard.ErrInvalidDPoPProof},
		{"bad signature", dpopRequest("GET", apiURL, s.token, tampered), jwtguard.ErrInvalidDPoPProof},
		{"two DPoP headers", dpopRequest("GET", apiURL, s.token, proof(nil, nil), proof(nil, nil)), jwtguard.ErrInvalidDPoPProof},
		{"no DPoP header", dpopRequest("GET", apiURL, s.token), jwtguard.ErrInvalidDPoPProof},
		{"oversized proof", dpopRequest("GET", apiURL, s.token, proof(nil, map[string]any{"pad": strings.Repeat("p", 9000)})), jwtguard.ErrInvalidDPoPProof},
		{"deeply nested proof JSON", dpopRequest("GET", apiURL, s.token, deep), jwtguard.ErrInvalidDPoPProof},
		{"duplicate claim in proof", dpopRequest("GET", apiURL, s.token, dup), jwtguard.ErrInvalidDPoPProof},
		{"proof not a JWS", dpopRequest("GET", apiURL, s.token, "not-a-jwt"), jwtguard.ErrInvalidDPoPProof},
		{"bound token as Bearer (no downgrade)", bearerAt(apiURL, s.token), jwtguard.ErrTokenBinding},
		{"unbound token with DPoP", dpopRequest("GET", apiURL, unbound, s.client.proof(t, "GET", apiURL, unbound, now, nil, nil)), jwtguard.ErrTokenBinding},
		{"DPoP scheme without a token", dpopRequest("GET", apiURL, "", proof(nil, nil)), jwtguard.ErrInvalidRequest},
		{"tampered access token", dpopRequest("GET", apiURL, tamper(s.token), proof(nil, nil)), jwtguard.ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPOptional))
			_, err := g.Authenticate(tc.req)
			t.Log(err)
			if (tc.wantErr == nil) != (err == nil) || !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				w := httptest.NewRecorder()
				g.WriteError(w, tc.req, err)
				if w.Code != http.StatusUnauthorized && w.Code != http.StatusBadRequest {
					t.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}

func bearerAt(target, token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func jsonText(v any) string { b, _ := json.Marshal(v); return string(b) }

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestDPoPReplay(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	var replays int
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired), jwtguard.WithObserver(jwtguard.Observer{
		OnDPoPReplay: func(_ context.Context, _ jwtguard.DPoPReplay) { replays++ }}))
	p := s.client.proof(t, "GET", apiURL, s.token, s.clock.Now(), nil, nil)
	if _, err := g.Authenticate(dpopRequest("GET", apiURL, s.token, p)); err != nil {
		t.Fatal(err)
	}
	_, err := g.Authenticate(dpopRequest("GET", apiURL, s.token, p))
	if !errors.Is(err, jwtguard.ErrInvalidDPoPProof) || replays != 1 {
		t.Fatalf("replayed proof: %v, %d replay events", err, replays)
	}
	// Once the window has passed, the proof is refused as stale rather
	// than remembered for ever.
	s.clock.Add(2 * time.Minute)
	if _, err := g.Authenticate(dpopRequest("GET", apiURL, s.token, p)); !errors.Is(err, jwtguard.ErrInvalidDPoPProof) {
		t.Fatalf("stale replay: %v", err)
	}
}

func TestDPoPModes(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	unbound := s.iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "carol"})
	proof := func() string { return s.client.proof(t, "GET", apiURL, s.token, s.clock.Now(), nil, nil) }
	for _, tc := range []struct {
		name          string
		mode          jwtguard.DPoPMode
		req           *http.Request
		wantErr       error
		wantChallenge []string
	}{
		{"off: DPoP scheme is no token", jwtguard.DPoPOff, dpopRequest("GET", apiURL, s.token, proof()), jwtguard.ErrNoToken, []string{`Bearer realm="api"`}},
		{"off: bound token as Bearer", jwtguard.DPoPOff, bearerAt(apiURL, s.token), jwtguard.ErrTokenBinding,
			[]string{`Bearer realm="api", error="invalid_token", error_description="token binding not proven"`}},
		{"off: unbound Bearer", jwtguard.DPoPOff, bearerAt(apiURL, unbound), nil, nil},
		{"optional: unbound Bearer", jwtguard.DPoPOptional, bearerAt(apiURL, unbound), nil, nil},
		{"optional: bound token as Bearer", jwtguard.DPoPOptional, bearerAt(apiURL, s.token), jwtguard.ErrTokenBinding,
			[]string{`Bearer realm="api", error="invalid_token", error_description="the token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof"`,
				`DPoP realm="api", algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519"`}},
		{"optional: DPoP", jwtguard.DPoPOptional, dpopRequest("GET", apiURL, s.token, proof()), nil, nil},
		{"optional: no token", jwtguard.DPoPOptional, httptest.NewRequest("GET", apiURL, nil), jwtguard.ErrNoToken,
			[]string{`Bearer realm="api"`, `DPoP realm="api", algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519"`}},
		{"optional: bad proof", jwtguard.DPoPOptional, dpopRequest("GET", apiURL, s.token, "x.y.z"), jwtguard.ErrInvalidDPoPProof,
			[]string{`Bearer realm="api"`, `DPoP realm="api", algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519", error="invalid_dpop_proof", error_description="invalid DPoP proof"`}},
		{"required: unbound Bearer", jwtguard.DPoPRequired, bearerAt(apiURL, unbound), jwtguard.ErrTokenBinding,
			[]string{`DPoP realm="api", algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519", error="invalid_token", error_description="DPoP required: send the token as Authorization: DPoP with a DPoP proof"`}},
		{"required: no token", jwtguard.DPoPRequired, httptest.NewRequest("GET", apiURL, nil), jwtguard.ErrNoToken,
			[]string{`DPoP realm="api", algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519"`}},
		{"required: DPoP", jwtguard.DPoPRequired, dpopRequest("GET", apiURL, s.token, proof()), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := s.guard(t, jwtguard.WithDPoP(tc.mode))
			w := serve(g.Handler(protected), tc.req)
			_, err := g.Authenticate(tc.req)
			if tc.wantErr == nil {
				if w.Code != http.StatusOK {
					t.Fatalf("status %d: %s", w.Code, w.Header().Get("WWW-Authenticate"))
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got := w.Header().Values("WWW-Authenticate"); strings.Join(got, "\n") != strings.Join(tc.wantChallenge, "\n") {
				t.Fatalf("challenges:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.wantChallenge, "\n"))
			}
		})
	}
}

func TestDPoPNonce(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired), jwtguard.WithDPoPNonce(secret, time.Minute))
	h := g.Handler(protected)
	w := serve(h, dpopRequest("GET", apiURL, s.token, s.client.proof(t, "GET", apiURL, s.token, s.clock.Now(), nil, nil)))
	nonce := w.Header().Get("DPoP-Nonce")
	if w.Code != http.StatusUnauthorized || nonce == "" || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="use_dpop_nonce"`) {
		t.Fatalf("no nonce: %d %q %q", w.Code, nonce, w.Header().Get("WWW-Authenticate"))
	}
	retry := func() int {
		p := s.client.proof(t, "GET", apiURL, s.token, s.clock.Now(), nil, map[string]any{"nonce": nonce})
		return serve(h, dpopRequest("GET", apiURL, s.token, p)).Code
	}
	if code := retry(); code != http.StatusOK {
		t.Fatalf("with the nonce: %d", code)
	}
	ok := serve(h, dpopRequest("GET", apiURL, s.token, s.client.proof(t, "GET", apiURL, s.token, s.clock.Now(), nil, map[string]any{"nonce": nonce})))
	if ok.Code != http.StatusOK || ok.Header().Get("DPoP-Nonce") != nonce {
		t.Fatalf("accepted request: %d, DPoP-Nonce %q", ok.Code, ok.Header().Get("DPoP-Nonce"))
	}
	// Another server with the same secret accepts it (stateless).
	g2 := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired), jwtguard.WithDPoPNonce(secret, time.Minute))
	p := s.client.proof(t, "GET", apiURL, s.token, s.clock.Now(), nil, map[string]any{"nonce": nonce})
	if _, err := g2.Authenticate(dpopRequest("GET", apiURL, s.token, p)); err != nil {
		t.Fatalf("second server: %v", err)
	}
	s.clock.Add(2*time.Minute + time.Second)
	if code := retry(); code != http.StatusUnauthorized {
		t.Fatalf("expired nonce: %d", code)
	}
	p = s.client.proof(t, "GET", apiURL, s.token, s.clock.Now(), nil, map[string]any{"nonce": "forged-nonce-forged-nonce-forged"})
	if _, err := g.Authenticate(dpopRequest("GET", apiURL, s.token, p)); !errors.Is(err, jwtguard.ErrUseDPoPNonce) {
		t.Fatalf("forged nonce: %v", err)
	}
}

func TestDPoPPublicOrigin(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired), jwtguard.WithPublicOrigin("https://API.example.com:443"))
	// Behind a proxy: the server sees plain http on an inner host.
	r := dpopRequest("GET", "http://10.0.0.7:8080/orders", s.token, s.client.proof(t, "GET", apiURL, s.token, s.clock.Now(), nil, nil))
	r.Header.Set("X-Forwarded-Host", "evil.example")
	if _, err := g.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	// Without the option the inner URL is what the proof must name, and
	// X-Forwarded-* is never read.
	plain := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired))
	r = dpopRequest("GET", "http://10.0.0.7:8080/orders", s.token, s.client.proof(t, "GET", apiURL, s.token, s.clock.Now(), nil, nil))
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "api.example.com")
	if _, err := plain.Authenticate(r); !errors.Is(err, jwtguard.ErrInvalidDPoPProof) {
		t.Fatalf("without WithPublicOrigin: %v", err)
	}
	for _, bad := range []string{"api.example.com", "https://api.example.com/v1", "ftp://x", "https://u:p@x"} {
		if _, err := jwtguard.New(t.Context(), jwtguard.WithPublicOrigin(bad)); !errors.Is(err, jwtguard.ErrConfig) {
			t.Errorf("WithPublicOrigin(%q): %v", bad, err)
		}
	}
}

func TestMemoryReplayStoreBounded(t *testing.T) {
	t.Parallel()
	s := jwtguard.NewMemoryReplayStore(1024)
	exp := time.Now().Add(time.Minute)
	full := false
	for i := range 5000 {
		sum := sha256.Sum256([]byte(itoa(int64(i))))
		fresh, err := s.Use(t.Context(), base64.RawURLEncoding.EncodeToString(sum[:]), exp)
		if err != nil {
			full = true
			break
		}
		if !fresh {
			t.Fatalf("key %d seen twice", i)
		}
	}
	if !full {
		t.Fatal("a store of 1024 entries took 5000 live ones")
	}
	// Expired entries make room: a store of 1024 takes 5000 that expire.
	s = jwtguard.NewMemoryReplayStore(1024)
	for i := range 5000 {
		sum := sha256.Sum256([]byte(itoa(int64(i))))
		if fresh, err := s.Use(t.Context(), base64.RawURLEncoding.EncodeToString(sum[:]), time.Now().Add(-time.Second)); err != nil || !fresh {
			t.Fatalf("expired entries did not make room at %d: %v", i, err)
		}
	}
	// A live key is seen once.
	if fresh, _ := s.Use(t.Context(), "k", exp); !fresh {
		t.Fatal("new key not fresh")
	}
	if fresh, _ := s.Use(t.Context(), "k", exp); fresh {
		t.Fatal("replayed key fresh")
	}
}

func TestDPoPConfigErrors(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	for name, opt := range map[string]jwtguard.Option{
		"nonce without WithDPoP":  jwtguard.WithDPoPNonce(secret, time.Minute),
		"origin without WithDPoP": jwtguard.WithPublicOrigin("https://api.example.com"),
		"short nonce secret":      jwtguard.WithDPoPNonce(secret[:16], time.Minute),
		"HS256 for proofs":        jwtguard.WithDPoPAlgorithms("HS256"),
		"none for proofs":         jwtguard.WithDPoPAlgorithms("none"),
		"window of an hour":       jwtguard.WithDPoPProofWindow(time.Hour, 0),
		"nil replay store":        jwtguard.WithDPoPReplayStore(nil),
		"unknown mode":            jwtguard.WithDPoP(7),
	} {
		_, err := jwtguard.New(t.Context(), jwtguard.WithIssuer("https://i"), jwtguard.WithAudience(audience),
			jwtguard.WithJWKS("https://i/jwks"), opt)
		if !errors.Is(err, jwtguard.ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
