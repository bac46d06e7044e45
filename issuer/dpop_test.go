package issuer_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

const origin = "https://app.example"

var b64 = base64.RawURLEncoding

// proofKey is a DPoP client's P-256 key, as a browser page or an app holds it.
type proofKey struct {
	priv *ecdsa.PrivateKey
	jwk  map[string]any // public members only
	jkt  string         // RFC 7638 thumbprint, computed here from the canonical JSON
}

var jtiCounter atomic.Int64

func newProofKey() *proofKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	pub, err := priv.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	x, y := b64.EncodeToString(pub[1:33]), b64.EncodeToString(pub[33:])
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return &proofKey{priv: priv, jwk: map[string]any{"kty": "EC", "crv": "P-256", "x": x, "y": y}, jkt: b64.EncodeToString(sum[:])}
}

// proof signs a DPoP proof for method and uri at iat; token, if not "",
// goes into ath. edit may change the header and claims before signing.
func (k *proofKey) proof(method, uri string, iat time.Time, token string, edit func(header, claims map[string]any)) string {
	h := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk}
	c := map[string]any{"jti": fmt.Sprintf("jti-%d", jtiCounter.Add(1)), "htm": method, "htu": uri, "iat": iat.Unix()}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		c["ath"] = b64.EncodeToString(sum[:])
	}
	if edit != nil {
		edit(h, c)
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(c)
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	if h["alg"] == "HS256" {
		m := hmac.New(sha256.New, []byte("a shared secret of thirty-two bytes!"))
		m.Write([]byte(input))
		return input + "." + b64.EncodeToString(m.Sum(nil))
	}
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, digest[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig)
}

// dpopApp is a login service that does DPoP: a token endpoint, the
// session handlers, and an API whose guard requires DPoP.
type dpopApp struct {
	clock    *jwtguardtest.Clock
	iss      *issuer.Issuer
	sessions *issuer.Sessions
	api      *jwtguard.Guard // DPoPRequired
	bearer   *jwtguard.Guard // DPoPOff, Authorization: Bearer
	mux      *http.ServeMux
}

func newDPoPApp(t testing.TB, checkerOpts ...jwtguard.DPoPCheckerOption) *dpopApp {
	t.Helper()
	clock := newClock()
	checker, err := jwtguard.NewDPoPChecker(append([]jwtguard.DPoPCheckerOption{
		jwtguard.WithDPoPCheckerClock(clock.Now), jwtguard.WithPublicOrigin(origin)}, checkerOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := issuer.New("https://login.example", issuer.WithAudience("api"), issuer.WithClock(clock.Now), issuer.WithDPoP(checker))
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := issuer.NewSessions(iss)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := iss.JWKS()
	common := []jwtguard.Option{jwtguard.WithJWKSet(jwks), jwtguard.WithIssuer(iss.URL()), jwtguard.WithAudience("api"),
		jwtguard.WithClock(clock.Now), jwtguard.WithRevocations(sessions.Revoker())}
	api, err := jwtguard.New(t.Context(), append(common, jwtguard.WithDPoP(jwtguard.DPoPRequired), jwtguard.WithPublicOrigin(origin))...)
	if err != nil {
		t.Fatal(err)
	}
	bearer, err := jwtguard.New(t.Context(), common...)
	if err != nil {
		t.Fatal(err)
	}
	check := func(r *http.Request) (string, map[string]any, error) {
		if r.PostFormValue("user") == "alice" && r.PostFormValue("password") == "secret" {
			return "alice", map[string]any{"scope": "orders:read"}, nil
		}
		return "", nil, issuer.ErrInvalidCredentials
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.ClaimsFromContext(r.Context())
		_, _ = w.Write([]byte("hello " + c.Subject()))
	})
	mux := http.NewServeMux()
	mux.Handle("/token", iss.TokenHandler(check))
	mux.Handle("/auth/login", sessions.LoginHandler(check))
	mux.Handle("/auth/refresh", sessions.RefreshHandler())
	mux.Handle("/auth/logout", sessions.LogoutHandler())
	mux.Handle("/api/me", api.Handler(hello))
	mux.Handle("/bearer/me", bearer.Handler(hello))
	return &dpopApp{clock: clock, iss: iss, sessions: sessions, api: api, bearer: bearer, mux: mux}
}

// request is one call to a dpopApp.
type request struct {
	method, path string
	form         url.Values
	auth         string   // Authorization header
	proofs       []string // DPoP headers
	cookies      jar      // sent, and updated from the response
}

func (a *dpopApp) do(t testing.TB, q request) *httptest.ResponseRecorder {
	t.Helper()
	var body *strings.Reader
	if q.form != nil {
		body = strings.NewReader(q.form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(q.method, origin+q.path, body)
	if q.form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if q.auth != "" {
		r.Header.Set("Authorization", q.auth)
	}
	for _, p := range q.proofs {
		r.Header.Add("DPoP", p)
	}
	for name, v := range q.cookies {
		r.AddCookie(&http.Cookie{Name: name, Value: v})
	}
	w := httptest.NewRecorder()
	a.mux.ServeHTTP(w, r)
	if q.cookies != nil {
		for _, c := range w.Result().Cookies() {
			if c.MaxAge < 0 || c.Value == "" {
				delete(q.cookies, c.Name)
			} else {
				q.cookies[c.Name] = c.Value
			}
		}
	}
	return w
}

var alice = url.Values{"user": {"alice"}, "password": {"secret"}}

// tokenResponse decodes a token response, failing the test on any other.
func tokenResponse(t testing.TB, w *httptest.ResponseRecorder) issuer.Token {
	t.Helper()
	var tok issuer.Token
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("want a token response, got %d %s", w.Code, w.Body)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("token response Cache-Control %q", cc)
	}
	return tok
}

// cnf returns the cnf claim of a token, read from its payload.
func cnf(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Cnf map[string]any `json:"cnf"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Cnf
}

// callAPI calls the DPoP-required API with token and a fresh proof by k.
func (a *dpopApp) callAPI(t testing.TB, k *proofKey, token string) *httptest.ResponseRecorder {
	t.Helper()
	return a.do(t, request{method: "GET", path: "/api/me", auth: "DPoP " + token,
		proofs: []string{k.proof("GET", origin+"/api/me", a.clock.Now(), token, nil)}})
}

func TestTokenEndpointIssuesDPoPTokens(t *testing.T) {
	t.Parallel()
	a := newDPoPApp(t)
	k := newProofKey()
	w := a.do(t, request{method: "POST", path: "/token", form: alice, proofs: []string{k.proof("POST", origin+"/token", a.clock.Now(), "", nil)}})
	tok := tokenResponse(t, w)
	if tok.TokenType != "DPoP" || tok.ExpiresIn != 300 {
		t.Fatalf("token_type %q, expires_in %d; want DPoP, 300", tok.TokenType, tok.ExpiresIn)
	}
	if got := cnf(t, tok.AccessToken); len(got) != 1 || got["jkt"] != k.jkt {
		t.Fatalf("cnf %v, want {jkt: %s}", got, k.jkt)
	}
	// The guard that requires DPoP takes it with a proof by the key, on
	// every request with a fresh proof.
	for i := range 2 {
		if w := a.callAPI(t, k, tok.AccessToken); w.Code != 200 || w.Body.String() != "hello alice" {
			t.Fatalf("API call %d with the DPoP token and a proof: %d %s %s", i, w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
		}
	}
	// The token alone, or with another key's proof, is worth nothing.
	other := newProofKey()
	for _, c := range []struct {
		name, path, auth string
		proofs           []string
		wantErr          string
	}{
		{"as Bearer where DPoP is required", "/api/me", "Bearer " + tok.AccessToken, nil, `error="invalid_token"`},
		{"as Bearer where Bearer is the scheme", "/bearer/me", "Bearer " + tok.AccessToken, nil, `error="invalid_token"`},
		{"as DPoP without a proof", "/api/me", "DPoP " + tok.AccessToken, nil, `error="invalid_dpop_proof"`},
		{"as DPoP with another key's proof", "/api/me", "DPoP " + tok.AccessToken,
			[]string{other.proof("GET", origin+"/api/me", a.clock.Now(), tok.AccessToken, nil)}, `error="invalid_dpop_proof"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := a.do(t, request{method: "GET", path: c.path, auth: c.auth, proofs: c.proofs})
			if w.Code != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), c.wantErr) {
				t.Fatalf("%d %q, want 401 with %s", w.Code, w.Header().Get("WWW-Authenticate"), c.wantErr)
			}
		})
	}
}

func TestTokenEndpointWithoutProofIssuesBearer(t *testing.T) {
	t.Parallel()
	a := newDPoPApp(t)
	tok := tokenResponse(t, a.do(t, request{method: "POST", path: "/token", form: alice}))
	if tok.TokenType != "Bearer" || cnf(t, tok.AccessToken) != nil {
		t.Fatalf("token_type %q, cnf %v; want Bearer and no cnf", tok.TokenType, cnf(t, tok.AccessToken))
	}
	if w := a.do(t, request{method: "GET", path: "/bearer/me", auth: "Bearer " + tok.AccessToken}); w.Code != 200 {
		t.Fatalf("bearer token at the Bearer API: %d", w.Code)
	}
	if w := a.do(t, request{method: "POST", path: "/token", form: url.Values{"user": {"alice"}, "password": {"wrong"}}}); w.Code != 400 ||
		!strings.Contains(w.Body.String(), `"invalid_grant"`) {
		t.Fatalf("wrong password: %d %s", w.Code, w.Body)
	}
	if w := a.do(t, request{method: "GET", path: "/token"}); w.Code != 405 {
		t.Fatalf("GET /token: %d", w.Code)
	}
}

func TestTokenEndpointRefusesBadProofs(t *testing.T) {
	t.Parallel()
	a := newDPoPApp(t)
	k := newProofKey()
	now := a.clock.Now()
	good := func(edit func(h, c map[string]any)) []string {
		return []string{k.proof("POST", origin+"/token", now, "", edit)}
	}
	replayed := good(nil)
	if w := a.do(t, request{method: "POST", path: "/token", form: alice, proofs: replayed}); w.Code != 200 {
		t.Fatalf("first use of the proof: %d %s", w.Code, w.Body)
	}
	for _, c := range []struct {
		name   string
		proofs []string
	}{
		{"wrong htm", []string{k.proof("GET", origin+"/token", now, "", nil)}},
		{"wrong htu path", []string{k.proof("POST", origin+"/auth/login", now, "", nil)}},
		{"wrong htu host", []string{k.proof("POST", "https://evil.example/token", now, "", nil)}},
		{"replayed jti", replayed},
		{"private key in jwk", good(func(h, _ map[string]any) {
			jwk := map[string]any{"d": b64.EncodeToString(k.priv.D.FillBytes(make([]byte, 32)))}
			for name, v := range k.jwk {
				jwk[name] = v
			}
			h["jwk"] = jwk
		})},
		{"HS256", good(func(h, _ map[string]any) { h["alg"] = "HS256" })},
		{"alg none", good(func(h, _ map[string]any) { h["alg"] = "none" })},
		{"typ JWT", good(func(h, _ map[string]any) { h["typ"] = "JWT" })},
		{"no jti", good(func(_, c map[string]any) { delete(c, "jti") })},
		{"iat too old", good(func(_, c map[string]any) { c["iat"] = now.Add(-2 * time.Minute).Unix() })},
		{"iat in the future", good(func(_, c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() })},
		{"two DPoP headers", append(good(nil), good(nil)...)},
		{"not a JWS", []string{"not.a.proof"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := a.do(t, request{method: "POST", path: "/token", form: alice, proofs: c.proofs})
			if w.Code != 400 || !strings.Contains(w.Body.String(), `"error":"invalid_dpop_proof","error_description":"invalid DPoP proof"`) {
				t.Fatalf("%d %s, want 400 invalid_dpop_proof", w.Code, w.Body)
			}
			if strings.Contains(w.Body.String(), "access_token") {
				t.Fatal("a refused proof got a token")
			}
		})
	}
}

func TestTokenEndpointNonce(t *testing.T) {
	t.Parallel()
	a := newDPoPApp(t, jwtguard.WithDPoPNonce([]byte(strings.Repeat("n", 32)), time.Minute))
	k := newProofKey()
	w := a.do(t, request{method: "POST", path: "/token", form: alice, proofs: []string{k.proof("POST", origin+"/token", a.clock.Now(), "", nil)}})
	nonce := w.Header().Get("DPoP-Nonce")
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"use_dpop_nonce"`) || nonce == "" {
		t.Fatalf("proof without a nonce: %d %s nonce %q, want 400 use_dpop_nonce with DPoP-Nonce", w.Code, w.Body, nonce)
	}
	withNonce := func(n string) []string {
		return []string{k.proof("POST", origin+"/token", a.clock.Now(), "", func(_, c map[string]any) { c["nonce"] = n })}
	}
	if w := a.do(t, request{method: "POST", path: "/token", form: alice, proofs: withNonce("bm90IHRoZSBzZXJ2ZXIncyBub25jZSEhIQ")}); w.Code != 400 ||
		!strings.Contains(w.Body.String(), `"use_dpop_nonce"`) {
		t.Fatalf("proof with a made-up nonce: %d %s", w.Code, w.Body)
	}
	w = a.do(t, request{method: "POST", path: "/token", form: alice, proofs: withNonce(nonce)})
	if tok := tokenResponse(t, w); tok.TokenType != "DPoP" || w.Header().Get("DPoP-Nonce") == "" {
		t.Fatalf("proof with the nonce: %q, DPoP-Nonce %q", tok.TokenType, w.Header().Get("DPoP-Nonce"))
	}
	// Two windows later the nonce has expired.
	a.clock.Add(2 * time.Minute)
	if w := a.do(t, request{method: "POST", path: "/token", form: alice, proofs: withNonce(nonce)}); w.Code != 400 ||
		w.Header().Get("DPoP-Nonce") == nonce {
		t.Fatalf("expired nonce: %d, new nonce %q", w.Code, w.Header().Get("DPoP-Nonce"))
	}
}

// sessionLogin logs in with a proof by k (nil: without) and returns the
// cookies and the response.
func (a *dpopApp) sessionLogin(t testing.TB, k *proofKey) (jar, *httptest.ResponseRecorder) {
	t.Helper()
	cookies := jar{}
	q := request{method: "POST", path: "/auth/login", form: alice, cookies: cookies}
	if k != nil {
		q.proofs = []string{k.proof("POST", origin+"/auth/login", a.clock.Now(), "", nil)}
	}
	return cookies, a.do(t, q)
}

// refresh posts to /auth/refresh with cookies and a proof by k (nil: none).
func (a *dpopApp) refresh(t testing.TB, cookies jar, k *proofKey) *httptest.ResponseRecorder {
	t.Helper()
	q := request{method: "POST", path: "/auth/refresh", cookies: cookies}
	if k != nil {
		q.proofs = []string{k.proof("POST", origin+"/auth/refresh", a.clock.Now(), "", nil)}
	}
	return a.do(t, q)
}

func TestSessionBoundToKey(t *testing.T) {
	t.Parallel()
	a := newDPoPApp(t)
	k := newProofKey()
	cookies, w := a.sessionLogin(t, k)
	tok := tokenResponse(t, w)
	if tok.TokenType != "DPoP" || cnf(t, tok.AccessToken)["jkt"] != k.jkt {
		t.Fatalf("login with a proof: token_type %q, cnf %v", tok.TokenType, cnf(t, tok.AccessToken))
	}
	if _, ok := cookies["__Host-access_token"]; ok || cookies[refreshName] == "" || cookies[bindingName] == "" {
		t.Fatalf("cookies after a DPoP login: %v (want refresh and binding, no access cookie)", cookies)
	}
	if w := a.callAPI(t, k, tok.AccessToken); w.Code != 200 {
		t.Fatalf("API with the session's token: %d %s", w.Code, w.Header().Get("WWW-Authenticate"))
	}

	// Refreshes that do not prove the key find no session; they leave the
	// session usable with the key.
	for _, c := range []struct {
		name string
		key  *proofKey
	}{{"without a proof", nil}, {"with another key", newProofKey()}} {
		stolen := cookies.clone()
		if w := a.refresh(t, stolen, c.key); w.Code != 401 || !strings.Contains(w.Body.String(), "invalid_grant") {
			t.Fatalf("refresh %s: %d %s, want 401 invalid_grant", c.name, w.Code, w.Body)
		}
	}
	// A bad proof is refused as such, and the cookies stay.
	bad := request{method: "POST", path: "/auth/refresh", cookies: cookies,
		proofs: []string{k.proof("POST", origin+"/token", a.clock.Now(), "", nil)}}
	if w := a.do(t, bad); w.Code != 400 || !strings.Contains(w.Body.String(), "invalid_dpop_proof") || len(w.Result().Cookies()) != 0 {
		t.Fatalf("refresh with a proof for another URL: %d %s, cookies %v", w.Code, w.Body, w.Result().Cookies())
	}

	before := cookies[refreshName]
	w = a.refresh(t, cookies, k)
	next := tokenResponse(t, w)
	if next.TokenType != "DPoP" || cnf(t, next.AccessToken)["jkt"] != k.jkt || cookies[refreshName] == before {
		t.Fatalf("refresh with the key: %q, cnf %v, rotated %v", next.TokenType, cnf(t, next.AccessToken), cookies[refreshName] != before)
	}
	if w := a.callAPI(t, k, next.AccessToken); w.Code != 200 {
		t.Fatalf("API with the refreshed token: %d", w.Code)
	}
	// Still bound after the rotation.
	if w := a.refresh(t, cookies.clone(), nil); w.Code != 401 {
		t.Fatalf("refresh of the rotated token without a proof: %d", w.Code)
	}

	// Logout with a proof finds the session and revokes it: its access
	// tokens are refused at once.
	if w := a.do(t, request{method: "POST", path: "/auth/logout", cookies: cookies,
		proofs: []string{k.proof("POST", origin+"/auth/logout", a.clock.Now(), "", nil)}}); w.Code != 204 {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	if w := a.callAPI(t, k, next.AccessToken); w.Code != 401 {
		t.Fatalf("API after logout: %d", w.Code)
	}
}

func TestCookieSessionBoundByRefresh(t *testing.T) {
	t.Parallel()
	a := newDPoPApp(t)
	cookies, w := a.sessionLogin(t, nil)
	if w.Code != 204 || cookies["__Host-access_token"] == "" {
		t.Fatalf("login without a proof: %d, cookies %v (want a cookie session as before)", w.Code, cookies)
	}
	if cnf(t, cookies["__Host-access_token"]) != nil {
		t.Fatal("cookie session's access token is bound")
	}
	if w := a.refresh(t, cookies, nil); w.Code != 204 {
		t.Fatalf("cookie session refresh without a proof: %d", w.Code)
	}
	k := newProofKey()
	tok := tokenResponse(t, a.refresh(t, cookies, k))
	if tok.TokenType != "DPoP" || cnf(t, tok.AccessToken)["jkt"] != k.jkt {
		t.Fatalf("refresh with a proof: %q %v", tok.TokenType, cnf(t, tok.AccessToken))
	}
	if _, ok := cookies["__Host-access_token"]; ok {
		t.Fatal("the access cookie outlived the binding")
	}
	for _, other := range []*proofKey{nil, newProofKey()} {
		if w := a.refresh(t, cookies.clone(), other); w.Code != 401 {
			t.Fatalf("refresh of a session bound by refresh, with key %v: %d", other, w.Code)
		}
	}
	if w := a.refresh(t, cookies, k); w.Code != 200 {
		t.Fatalf("refresh with the key: %d", w.Code)
	}
}

func TestSessionLoginRefusesBadProof(t *testing.T) {
	t.Parallel()
	a := newDPoPApp(t)
	k := newProofKey()
	cookies := jar{}
	w := a.do(t, request{method: "POST", path: "/auth/login", form: alice, cookies: cookies,
		proofs: []string{k.proof("POST", origin+"/auth/login", a.clock.Now(), "", func(h, _ map[string]any) { h["alg"] = "HS256" })}})
	if w.Code != 400 || !strings.Contains(w.Body.String(), "invalid_dpop_proof") || len(cookies) != 0 {
		t.Fatalf("login with an HS256 proof: %d %s, cookies %v", w.Code, w.Body, cookies)
	}
}

func TestDPoPConfigErrors(t *testing.T) {
	t.Parallel()
	if _, err := issuer.New("https://login.example", issuer.WithDPoP(nil)); !errors.Is(err, issuer.ErrConfig) {
		t.Fatalf("WithDPoP(nil): %v", err)
	}
	for name, opt := range map[string]jwtguard.DPoPCheckerOption{
		"HS256":      jwtguard.WithDPoPAlgorithms("HS256"),
		"origin":     jwtguard.WithPublicOrigin("https://app.example?query"),
		"short":      jwtguard.WithDPoPNonce([]byte("short"), time.Minute),
		"nil clock":  jwtguard.WithDPoPCheckerClock(nil),
		"nil replay": jwtguard.WithDPoPReplayStore(nil),
	} {
		if _, err := jwtguard.NewDPoPChecker(opt); !errors.Is(err, jwtguard.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}
