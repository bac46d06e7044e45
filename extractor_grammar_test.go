package jwtguard_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// b64TokenPrefix matches the longest prefix in RFC 6750's b64token grammar.
var b64TokenPrefix = regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*`)

// TestBearerGrammarCheckedOnRefusal: the guard checks the b64token grammar
// of an Authorization-header token only when the token is refused (a token
// that verifies has passed a stricter check), so every token outside the
// grammar must still be a 400 invalid_request naming the byte: before its
// first use, after the token it was made from is cached, and next to
// another source's token, in either order.
func TestBearerGrammarCheckedOnRefusal(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	token := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience})
	headerFirst := newGuard(t, iss, jwtguard.WithExtractors(jwtguard.FromAuthorizationHeader(), jwtguard.FromCookie("access_token")), jwtguard.WithoutCrossOriginCheck())
	cookieFirst := newGuard(t, iss, jwtguard.WithExtractors(jwtguard.FromCookie("access_token"), jwtguard.FromAuthorizationHeader()), jwtguard.WithoutCrossOriginCheck())
	for _, g := range []*jwtguard.Guard{headerFirst, cookieFirst} {
		if _, err := g.Authenticate(bearer(token)); err != nil { // cached from here on
			t.Fatal(err)
		}
	}
	var bad []string
	for _, c := range []string{" ", "\"", "\t", "\x00", "\x7f", "\xff", "é", ",", ";", "\\", "=x", "%"} {
		for _, at := range []int{0, 1, strings.IndexByte(token, '.'), len(token) / 2, len(token) - 1, len(token)} {
			if c == " " && at == 0 {
				continue // spaces after the scheme are skipped, as before
			}
			bad = append(bad, token[:at]+c+token[at:])
		}
	}
	bad = append(bad, token+"=.", "a b", strings.Repeat("\"", 9000), token+" "+token)
	for _, value := range bad {
		want := 0 // the first byte outside the grammar, by a regexp of it
		if loc := b64TokenPrefix.FindStringIndex(value); loc != nil {
			want = loc[1]
		}
		for name, g := range map[string]*jwtguard.Guard{"header first": headerFirst, "cookie first": cookieFirst} {
			for _, withCookie := range []bool{false, true} {
				r := httptest.NewRequest(http.MethodGet, "/orders", nil)
				r.Header.Set("Authorization", "Bearer "+value)
				if withCookie {
					r.AddCookie(&http.Cookie{Name: "access_token", Value: token})
				}
				_, err := g.Authenticate(r)
				var e *jwtguard.Error
				if !errors.As(err, &e) || !errors.Is(err, jwtguard.ErrInvalidRequest) || e.Status != http.StatusBadRequest {
					t.Fatalf("%s, cookie %v: Bearer %.40q: err = %v, want a 400 invalid_request", name, withCookie, value, err)
				}
				if !strings.Contains(err.Error(), "b64token at byte ") {
					t.Fatalf("%s, cookie %v: Bearer %.40q: err = %v, want it to name the byte", name, withCookie, value, err)
				}
				if !strings.Contains(err.Error(), "at byte "+strconv.Itoa(want)+" ") {
					t.Fatalf("%s, cookie %v: Bearer %.40q: err = %v, want byte %d", name, withCookie, value, err, want)
				}
			}
		}
	}
	// Inside the grammar but not a token: still the token's fault, 401.
	for _, value := range []string{token + "=", "abc", tamper(token), "a~b+c/d"} {
		_, err := headerFirst.Authenticate(bearer(value))
		if e := (*jwtguard.Error)(nil); !errors.As(err, &e) || e.Status != http.StatusUnauthorized || errors.Is(err, jwtguard.ErrInvalidRequest) {
			t.Fatalf("Bearer %.40q: err = %v, want a 401 invalid_token refusal", value, err)
		}
	}
}

// TestDPoPRequiredBearerGrammarIsInvalidRequest: a Bearer token outside
// the b64token grammar on a DPoP-required guard is a 400 invalid_request
// naming the byte, not a token-binding refusal (a second attack review:
// the deferred grammar check was skipped on this path).
func TestDPoPRequiredBearerGrammarIsInvalidRequest(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss, jwtguard.WithDPoP(jwtguard.DPoPRequired))
	for _, value := range []string{`a"b`, "abc\x00", "tok,en", `x\y`} {
		r := httptest.NewRequest(http.MethodGet, "/orders", nil)
		r.Header.Set("Authorization", "Bearer "+value)
		_, err := g.Authenticate(r)
		var e *jwtguard.Error
		if !errors.As(err, &e) || !errors.Is(err, jwtguard.ErrInvalidRequest) || e.Status != http.StatusBadRequest ||
			!strings.Contains(err.Error(), "b64token at byte ") {
			t.Errorf("DPoPRequired, Bearer %q: err = %v (status %d), want a 400 invalid_request naming the byte", value, err, e.Status)
		}
	}
}

// TestFromFuncOwnMultipleTokensError: a FromFunc source may return
// ErrMultipleTokens itself, before any source found a token; that was
// taken for a second token and panicked on the missing first (a second
// attack review's proof).
func TestFromFuncOwnMultipleTokensError(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	session := jwtguard.FromFunc("session", func(r *http.Request) (string, error) {
		if len(r.Header.Values("Cookie")) > 1 {
			return "", jwtguard.ErrMultipleTokens
		}
		return "", nil
	}).WithoutCrossOriginCheck()
	g := newGuard(t, iss, jwtguard.WithExtractors(jwtguard.FromAuthorizationHeader(), session))
	r := httptest.NewRequest(http.MethodGet, "/orders", nil)
	r.Header.Add("Cookie", "sid=1")
	r.Header.Add("Cookie", "sid=2")
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Authenticate panicked: %v", p)
		}
	}()
	_, err := g.Authenticate(r)
	if !errors.Is(err, jwtguard.ErrMultipleTokens) {
		t.Fatalf("err = %v, want ErrMultipleTokens", err)
	}
}

// TestMultipleTokensInEveryDPoPMode: two tokens, or a source's own
// ErrMultipleTokens, are ErrMultipleTokens whatever the DPoP mode (a
// DPoP-required guard made them a plain invalid_request: an attack
// review's proof).
func TestMultipleTokensInEveryDPoPMode(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	tok := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience})
	session := jwtguard.FromFunc("session", func(r *http.Request) (string, error) {
		if r.Header.Get("X-Dup") != "" {
			return "", jwtguard.ErrMultipleTokens
		}
		return "", nil
	}).WithoutCrossOriginCheck()
	for _, mode := range []struct {
		name string
		opts []jwtguard.Option
	}{
		{"plain", nil},
		{"dpop optional", []jwtguard.Option{jwtguard.WithDPoP(jwtguard.DPoPOptional)}},
		{"dpop required", []jwtguard.Option{jwtguard.WithDPoP(jwtguard.DPoPRequired)}},
	} {
		opts := append([]jwtguard.Option{jwtguard.WithExtractors(jwtguard.FromAuthorizationHeader(), jwtguard.FromCookie("access_token"), session),
			jwtguard.WithoutCrossOriginCheck()}, mode.opts...)
		g := newGuard(t, iss, opts...)
		for _, req := range []struct {
			name string
			r    func() *http.Request
		}{
			{"bearer and cookie", func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/orders", nil)
				r.Header.Set("Authorization", "Bearer "+tok)
				r.AddCookie(&http.Cookie{Name: "access_token", Value: tok})
				return r
			}},
			{"FromFunc's own ErrMultipleTokens", func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/orders", nil)
				r.Header.Set("X-Dup", "1")
				return r
			}},
		} {
			_, err := g.Authenticate(req.r())
			var e *jwtguard.Error
			if !errors.As(err, &e) || !errors.Is(err, jwtguard.ErrMultipleTokens) || e.Status != http.StatusBadRequest {
				t.Errorf("%s, %s: err = %v, want ErrMultipleTokens (400)", mode.name, req.name, err)
			}
		}
	}
}
