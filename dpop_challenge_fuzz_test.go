package jwtguard

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzDPoPChallenge: whatever the realm, description, scope and mode, every
// WWW-Authenticate value keeps its parameters inside their quotes.
func FuzzDPoPChallenge(f *testing.F) {
	f.Add("api", "invalid DPoP proof", "a b", uint8(1), true)
	f.Add("a\"b", "\\\"\r\n", "\x00\xff", uint8(2), false)
	f.Fuzz(func(t *testing.T, realm, desc, scope string, mode uint8, used bool) {
		e := &Error{Status: 401, Code: "invalid_dpop_proof", Description: desc, Scope: scope, Err: ErrInvalidDPoPProof,
			dpop: &dpopChallenge{mode: DPoPMode(mode%2 + 1), algs: "ES256 EdDSA", used: used}}
		h := http.Header{}
		setChallenges(h, realm, e)
		values := h.Values("WWW-Authenticate")
		if len(values) == 0 {
			t.Fatal("no challenge")
		}
		for _, c := range values {
			if !strings.HasPrefix(c, "Bearer") && !strings.HasPrefix(c, "DPoP") {
				t.Fatalf("challenge %q", c)
			}
			if strings.Count(c, `"`)%2 != 0 || strings.ContainsAny(c, "\\\r\n\x00") {
				t.Fatalf("challenge %q escapes its quoting", c)
			}
		}
	})
}
