package jwtguard_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestOptions covers the options not exercised elsewhere, each by its effect.
func TestOptions(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	token := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": "somebody-else"})

	t.Run("WithoutAudienceCheck", func(t *testing.T) {
		t.Parallel()
		g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer(iss.URL), jwtguard.WithoutAudienceCheck())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Authenticate(bearer(token)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("WithoutIssuerCheck", func(t *testing.T) {
		t.Parallel()
		g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithoutIssuerCheck(), jwtguard.WithoutAudienceCheck())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Authenticate(bearer(iss.Sign(jwtguardtest.Claims{"iss": "anyone"}))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("WithRealm", func(t *testing.T) {
		t.Parallel()
		g := newGuard(t, iss, jwtguard.WithRealm("orders"))
		w := serve(g.Handler(protected), httptest.NewRequest("GET", "/", nil))
		if got := w.Header().Get("WWW-Authenticate"); got != `Bearer realm="orders"` {
			t.Fatalf("challenge %q", got)
		}
	})
	t.Run("WithMaxTokenSize", func(t *testing.T) {
		t.Parallel()
		g := newGuard(t, iss, jwtguard.WithMaxTokenSize(128))
		if _, err := g.Authenticate(bearer(iss.Sign(jwtguardtest.Claims{"aud": audience}))); !errors.Is(err, jwtguard.ErrTokenTooLarge) {
			t.Fatalf("err = %v", err)
		}
		if _, err := jwtguard.New(t.Context(), jwtguard.WithMaxTokenSize(10), jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y")); !errors.Is(err, jwtguard.ErrConfig) {
			t.Fatalf("tiny size accepted: %v", err)
		}
	})
	t.Run("InsecureAllowHTTPKeys", func(t *testing.T) {
		t.Parallel()
		opts := []jwtguard.Option{jwtguard.WithJWKS("http://idp.example.com/jwks"), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y")}
		if _, err := jwtguard.New(t.Context(), opts...); !errors.Is(err, jwtguard.ErrConfig) {
			t.Fatalf("plain http accepted by default: %v", err)
		}
		if _, err := jwtguard.New(t.Context(), append(opts, jwtguard.InsecureAllowHTTPKeys())...); err != nil {
			t.Fatalf("with InsecureAllowHTTPKeys: %v", err)
		}
	})
	t.Run("WithVerifiedTokenCache out of range", func(t *testing.T) {
		t.Parallel()
		for _, n := range []int{-1, 1<<26 + 1, 1<<61 + 1} { // the last once hung New (the doorkeeper's size overflowed)
			if _, err := jwtguard.New(t.Context(), jwtguard.WithVerifiedTokenCache(n), jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer("x"), jwtguard.WithAudience("y")); !errors.Is(err, jwtguard.ErrConfig) {
				t.Errorf("WithVerifiedTokenCache(%d): %v, want ErrConfig", n, err)
			}
		}
	})
	t.Run("WithVerifiedTokenCache(0)", func(t *testing.T) {
		t.Parallel()
		g := newGuard(t, iss, jwtguard.WithVerifiedTokenCache(0))
		good := iss.Sign(jwtguardtest.Claims{"aud": audience})
		for range 3 {
			if _, err := g.Authenticate(bearer(good)); err != nil {
				t.Fatal(err)
			}
		}
		if st := g.Status(); st.CacheHits != 0 || st.CacheSize != 0 {
			t.Fatalf("cache used: %+v", st)
		}
	})
	t.Run("FromFunc", func(t *testing.T) {
		t.Parallel()
		src := jwtguard.FromFunc("x-session", func(r *http.Request) (string, error) {
			v := r.Header.Get("X-Session")
			if v == "broken" {
				return "", fmt.Errorf("session header %q is broken", v)
			}
			return v, nil
		})
		if src.String() != "x-session" {
			t.Fatalf("String() = %q", src.String())
		}
		g := newGuard(t, iss, jwtguard.WithExtractors(src))
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Session", iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "alice"}))
		if w := serve(g.Handler(protected), r); w.Code != 200 {
			t.Fatalf("custom source: %d", w.Code)
		}
		r.Header.Set("X-Session", "broken")
		w := serve(g.Handler(protected), r)
		if w.Code != 400 || strings.Contains(w.Body.String(), "broken") {
			t.Fatalf("custom source error: %d %s (its text must stay private)", w.Code, w.Body)
		}
	})
}

// TestErrorType checks the typed error's methods that adapters rely on.
func TestErrorType(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss)
	_, err := g.Authenticate(bearer(iss.Sign(jwtguardtest.Claims{"aud": "other"})))
	var e *jwtguard.Error
	if !errors.As(err, &e) || e.StatusCode() != 401 || !strings.Contains(e.Error(), "audience") || !errors.Is(e, jwtguard.ErrAudience) {
		t.Fatalf("error %#v", err)
	}
}

// TestSurrogatesInClaims: proper surrogate pairs are fine, lone ones make
// the token malformed (two JSON parsers would read them differently).
func TestSurrogatesInClaims(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss)
	payload := func(sub string) []byte {
		return []byte(`{"iss":"` + iss.URL + `","aud":"` + audience + `","exp":9999999999,"sub":"` + sub + `"}`)
	}
	c, err := g.Authenticate(bearer(iss.SignRaw(nil, payload(`\ud83d\ude00 \u00e9`))))
	if err != nil || c.Subject() != "😀 é" {
		t.Fatalf("surrogate pair: %v %+v", err, c)
	}
	for _, bad := range []string{`\ud83d`, `\ude00`, `\ud83dx`, `\ud83d\u0041`} {
		if _, err := g.Authenticate(bearer(iss.SignRaw(nil, payload(bad)))); !errors.Is(err, jwtguard.ErrMalformedToken) {
			t.Errorf("lone surrogate %s: %v", bad, err)
		}
	}
}

// TestDiscoveryRFC8414: without an OpenID configuration, the RFC 8414
// metadata (well-known segment before the issuer's path) is used.
func TestDiscoveryRFC8414(t *testing.T) {
	t.Parallel()
	keys := jwtguardtest.NewIssuer(t, "EdDSA")
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server/tenant-a":
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, srv.URL+"/tenant-a", keys.JWKSURL())
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	issuer := srv.URL + "/tenant-a"
	// The keys live on another host (port) than the issuer, so it is listed.
	g, err := jwtguard.New(t.Context(), jwtguard.WithIssuerDiscovery(issuer), jwtguard.WithAudience(audience),
		jwtguard.WithDiscoveredJWKSHosts(strings.TrimPrefix(keys.URL, "http://")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Authenticate(bearer(keys.Sign(jwtguardtest.Claims{"iss": issuer, "aud": audience}))); err != nil {
		t.Fatalf("RFC 8414 discovery: %v", err)
	}
}
