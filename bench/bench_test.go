// Package bench compares jwtguard with other Go JWT middlewares and with
// the raw crypto floor, through real http.Handler chains. It is a separate
// module so that no peer ever enters jwtguard's own go.mod.
package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	jwtmiddleware "github.com/auth0/go-jwt-middleware/v3"
	"github.com/auth0/go-jwt-middleware/v3/jwks"
	"github.com/auth0/go-jwt-middleware/v3/validator"
	jwtauth "github.com/go-chi/jwtauth/v5"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	jwa2 "github.com/lestrrat-go/jwx/v2/jwa"
	jwt2 "github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwt3 "github.com/lestrrat-go/jwx/v3/jwt"
)

const audience = "bench-api"

// Algorithms is what every implementation is measured with.
var Algorithms = []string{"RS256", "ES256", "EdDSA", "HS256"}

// fixture is one issuer and one token, shared by all implementations.
type fixture struct {
	alg   string
	iss   *jwtguardtest.Issuer
	token string
}

func (f *fixture) hmac() bool { return strings.HasPrefix(f.alg, "HS") }

// ok is the protected handler: it only answers 200.
var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// impl builds one middleware chain around ok.
type impl struct {
	name  string
	build func(tb testing.TB, f *fixture) http.Handler
}

var impls = []impl{
	{"floor", buildFloor},
	{"jwtguard-hit", func(tb testing.TB, f *fixture) http.Handler { return buildJWTGuard(tb, f, true) }},
	{"jwtguard-miss", func(tb testing.TB, f *fixture) http.Handler { return buildJWTGuard(tb, f, false) }},
	{"golang-jwt+keyfunc", buildGolangJWT},
	{"echo-jwt", buildEchoJWT},
	{"auth0-v3", buildAuth0},
	{"jwx-v3", buildJWX},
	{"chi-jwtauth", buildJWTAuth},
}

// discardWriter keeps the harness's own cost out of the measurement.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

func BenchmarkMiddleware(b *testing.B) {
	for _, alg := range Algorithms {
		f := newFixture(b, alg)
		for _, im := range impls {
			b.Run(alg+"/"+im.name, func(b *testing.B) {
				h := im.build(b, f)
				req, _ := http.NewRequest(http.MethodGet, "http://api.example/orders", nil)
				req.Header.Set("Authorization", "Bearer "+f.token)
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Fatalf("%s rejected a valid token: %d", im.name, w.code)
				}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					w.code = 0
					h.ServeHTTP(w, req)
					if w.code != http.StatusOK {
						b.Fatal(w.code)
					}
				}
			})
		}
	}
}

// TestEveryImplementationAccepts keeps the harness honest: each chain
// accepts the valid token and refuses a tampered one.
func TestEveryImplementationAccepts(t *testing.T) {
	for _, alg := range Algorithms {
		f := newFixture(t, alg)
		for _, im := range impls {
			h := im.build(t, f)
			for _, tc := range []struct {
				token string
				want  int
			}{{f.token, 200}, {f.token[:len(f.token)-6] + "AAAAAA", 401}} {
				req, _ := http.NewRequest(http.MethodGet, "http://api.example/orders", nil)
				req.Header.Set("Authorization", "Bearer "+tc.token)
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, req)
				if (w.code == 200) != (tc.want == 200) {
					t.Errorf("%s/%s: status %d, want %d", alg, im.name, w.code, tc.want)
				}
			}
		}
	}
}

func newFixture(tb testing.TB, alg string) *fixture {
	iss := jwtguardtest.NewIssuer(tb, alg)
	token := iss.Sign(jwtguardtest.Claims{
		"sub": "alice", "aud": audience, "scope": "orders:read orders:write",
		"exp": time.Now().Add(24 * time.Hour).Unix(),
	})
	return &fixture{alg: alg, iss: iss, token: token}
}

func buildJWTGuard(tb testing.TB, f *fixture, cache bool) http.Handler {
	opts := []jwtguard.Option{jwtguard.WithIssuer(f.iss.URL), jwtguard.WithAudience(audience)}
	if f.hmac() {
		opts = append(opts, jwtguard.WithHMACSecret(f.iss.Secret()))
	} else {
		opts = append(opts, jwtguard.WithJWKS(f.iss.JWKSURL()), jwtguard.WithKeysAtStart())
	}
	if !cache {
		opts = append(opts, jwtguard.WithVerifiedTokenCache(0))
	}
	g, err := jwtguard.New(context.Background(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return g.Handler(ok)
}

// buildFloor: base64, hash and signature check with the standard library,
// and nothing else: no claims, no key lookup.
func buildFloor(tb testing.TB, f *fixture) http.Handler {
	var verify func(input, sig []byte) bool
	switch f.alg {
	case "RS256":
		pub := f.iss.PublicKey().(*rsa.PublicKey)
		verify = func(in, sig []byte) bool {
			h := sha256.Sum256(in)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
		}
	case "ES256":
		pub := f.iss.PublicKey().(*ecdsa.PublicKey)
		verify = func(in, sig []byte) bool {
			h := sha256.Sum256(in)
			return len(sig) == 64 && ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
		}
	case "EdDSA":
		pub := f.iss.PublicKey().(ed25519.PublicKey)
		verify = func(in, sig []byte) bool { return ed25519.Verify(pub, in, sig) }
	default:
		secret := f.iss.Secret()
		verify = func(in, sig []byte) bool {
			m := hmac.New(sha256.New, secret)
			m.Write(in)
			return hmac.Equal(m.Sum(nil), sig)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		i := strings.LastIndexByte(token, '.')
		sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
		if i < 0 || err != nil || !verify([]byte(token[:i]), sig) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ok.ServeHTTP(w, r)
	})
}

func golangJWTKeyfunc(tb testing.TB, f *fixture) jwt.Keyfunc {
	if f.hmac() {
		secret := f.iss.Secret()
		return func(*jwt.Token) (any, error) { return secret, nil }
	}
	k, err := keyfunc.NewDefaultCtx(context.Background(), []string{f.iss.JWKSURL()})
	if err != nil {
		tb.Fatal(err)
	}
	return k.Keyfunc
}

// buildGolangJWT is the common hand-written middleware over golang-jwt v5
// and MicahParks/keyfunc.
func buildGolangJWT(tb testing.TB, f *fixture) http.Handler {
	kf := golangJWTKeyfunc(tb, f)
	parser := jwt.NewParser(jwt.WithValidMethods([]string{f.alg}), jwt.WithIssuer(f.iss.URL),
		jwt.WithAudience(audience), jwt.WithExpirationRequired())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !found {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, err := parser.Parse(token, kf); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ok.ServeHTTP(w, r)
	})
}

func buildEchoJWT(tb testing.TB, f *fixture) http.Handler {
	e := echo.New()
	kf := golangJWTKeyfunc(tb, f)
	e.Use(echojwt.WithConfig(echojwt.Config{
		KeyFunc: kf,
		ParseTokenFunc: func(c echo.Context, auth string) (any, error) {
			return jwt.Parse(auth, kf, jwt.WithValidMethods([]string{f.alg}), jwt.WithIssuer(f.iss.URL),
				jwt.WithAudience(audience), jwt.WithExpirationRequired())
		},
	}))
	e.GET("/orders", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	return e
}

func buildAuth0(tb testing.TB, f *fixture) http.Handler {
	var keyFunc func(context.Context) (any, error)
	if f.hmac() {
		secret := f.iss.Secret()
		keyFunc = func(context.Context) (any, error) { return secret, nil }
	} else {
		issuerURL, _ := url.Parse(f.iss.URL)
		jwksURL, _ := url.Parse(f.iss.JWKSURL())
		p, err := jwks.NewCachingProvider(jwks.WithIssuerURL(issuerURL), jwks.WithCustomJWKSURI(jwksURL), jwks.WithCacheTTL(time.Hour))
		if err != nil {
			tb.Fatal(err)
		}
		keyFunc = p.KeyFunc
	}
	v, err := validator.New(validator.WithKeyFunc(keyFunc), validator.WithAlgorithm(validator.SignatureAlgorithm(f.alg)),
		validator.WithIssuer(f.iss.URL), validator.WithAudience(audience))
	if err != nil {
		tb.Fatal(err)
	}
	m, err := jwtmiddleware.New(jwtmiddleware.WithValidator(v))
	if err != nil {
		tb.Fatal(err)
	}
	return m.CheckJWT(ok)
}

// buildJWX uses jwx v3 directly, as jwtguard's own dependency could be used.
func buildJWX(tb testing.TB, f *fixture) http.Handler {
	var keyOpt jwt3.ParseOption
	if f.hmac() {
		key, err := jwk.Import(f.iss.Secret())
		if err != nil {
			tb.Fatal(err)
		}
		_ = key.Set(jwk.AlgorithmKey, f.alg)
		_ = key.Set(jwk.KeyIDKey, f.iss.KeyID())
		set := jwk.NewSet()
		_ = set.AddKey(key)
		keyOpt = jwt3.WithKeySet(set)
	} else {
		set, err := jwk.Fetch(context.Background(), f.iss.JWKSURL())
		if err != nil {
			tb.Fatal(err)
		}
		keyOpt = jwt3.WithKeySet(set)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !found {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, err := jwt3.ParseString(token, keyOpt, jwt3.WithIssuer(f.iss.URL), jwt3.WithAudience(audience),
			jwt3.WithRequiredClaim("exp")); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ok.ServeHTTP(w, r)
	})
}

// buildJWTAuth: go-chi/jwtauth has no JWKS support, so it gets the key directly.
func buildJWTAuth(tb testing.TB, f *fixture) http.Handler {
	var key any
	if f.hmac() {
		key = f.iss.Secret()
	} else {
		key = f.iss.PublicKey()
	}
	alg := jwa2.SignatureAlgorithm(f.alg)
	ja := jwtauth.New(string(alg), nil, key, jwt2.WithIssuer(f.iss.URL), jwt2.WithAudience(audience), jwt2.WithRequiredClaim("exp"))
	if f.hmac() {
		ja = jwtauth.New(string(alg), key, nil, jwt2.WithIssuer(f.iss.URL), jwt2.WithAudience(audience), jwt2.WithRequiredClaim("exp"))
	}
	return jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(ok))
}
