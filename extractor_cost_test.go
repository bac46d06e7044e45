package jwtguard_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestLongAuthorizationHeaderIsCheap: reading the Bearer token is linear in
// the header's length (it was quadratic: a 1 MiB header, which net/http
// lets through by default, cost minutes of CPU).
func TestLongAuthorizationHeaderIsCheap(t *testing.T) {
	t.Parallel()
	g := newGuard(t, jwtguardtest.NewIssuer(t, "ES256"))
	for _, tail := range []string{"", "\""} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+strings.Repeat("a", 1<<20)+tail)
		start := time.Now()
		_, err := g.Authenticate(r)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("a 1 MiB header took %v", d)
		}
		if err == nil || !(errors.Is(err, jwtguard.ErrTokenTooLarge) || errors.Is(err, jwtguard.ErrInvalidRequest)) {
			t.Fatalf("err = %v", err)
		}
	}
}
