package jwtguard_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func TestAccessTokenProfile(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss, jwtguard.WithAccessTokenProfile())
	plain := newGuard(t, iss)
	full := jwtguardtest.Claims{"aud": audience, "sub": "alice", "client_id": "app", "jti": "j1"}
	without := func(name string) jwtguardtest.Claims {
		c := jwtguardtest.Claims{}
		for k, v := range full {
			c[k] = v
		}
		c[name] = nil
		return c
	}
	sign := func(typ string, c jwtguardtest.Claims) string {
		tok := iss.Sign(c) // typ JWT
		if typ == "JWT" {
			return tok
		}
		var h map[string]any
		if typ != "" {
			h = map[string]any{"typ": typ}
		} else {
			h = map[string]any{"typ": nil}
		}
		return iss.SignRaw(h, payloadOf(t, tok))
	}
	for _, tc := range []struct {
		name    string
		token   string
		wantErr error // nil: accepted
	}{
		{"at+jwt, all claims", sign("at+jwt", full), nil},
		{"application/at+jwt", sign("application/at+jwt", full), nil},
		{"typ JWT", sign("JWT", full), jwtguard.ErrUnsupportedHeader},
		{"no typ", sign("", full), jwtguard.ErrUnsupportedHeader},
		{"no sub", sign("at+jwt", without("sub")), jwtguard.ErrMissingClaim},
		{"no client_id", sign("at+jwt", without("client_id")), jwtguard.ErrMissingClaim},
		{"no jti", sign("at+jwt", without("jti")), jwtguard.ErrMissingClaim},
		{"no iat", sign("at+jwt", without("iat")), jwtguard.ErrMissingClaim},
		{"null client_id", sign("at+jwt", func() jwtguardtest.Claims { c := without("client_id"); c["client_id"] = []any(nil); return c }()), jwtguard.ErrMissingClaim},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := g.Authenticate(bearer(tc.token))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
	// The defaults accept what the profile refuses for want of claims.
	if _, err := plain.Authenticate(bearer(sign("JWT", without("client_id")))); err != nil {
		t.Fatalf("default guard: %v", err)
	}
}

// payloadOf decodes a compact token's payload.
func payloadOf(t *testing.T, token string) []byte {
	t.Helper()
	parts := strings.Split(token, ".")
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return p
}
