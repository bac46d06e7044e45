package jwtguard_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestDPoPRequiredBearerGrammarIsInvalidRequest: with DPoPRequired, a Bearer token
// outside RFC 6750's b64token was a 400 invalid_request naming the byte
// (extractToken ran the grammar check); since the check is deferred to
// Extractor.grammar, authenticateSender's extractToken never runs it and
// the request is a 401 token_binding refusal instead.
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

// TestFromFuncOwnMultipleTokensError: a FromFunc source that reports
// ErrMultipleTokens itself (two session cookies, say) while no earlier
// source found a token makes extractToken dereference a nil *Extractor.
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
