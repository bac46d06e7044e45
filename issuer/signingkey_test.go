package issuer_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
)

// TestSharedSigningKey: instances given one key publish the same JWKS and
// verify each other's tokens, and do not rotate it away.
func TestSharedSigningKey(t *testing.T) {
	t.Parallel()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]crypto.Signer{"ES256": ec, "EdDSA": ed} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			var instances [2]*issuer.Issuer
			for i := range instances {
				var err error
				instances[i], err = issuer.New("https://login.example", issuer.WithAudience("api"), issuer.WithClock(clock.Now), issuer.WithSigningKey(key))
				if err != nil {
					t.Fatal(err)
				}
			}
			a, _ := instances[0].JWKS()
			b, _ := instances[1].JWKS()
			if !bytes.Equal(a, b) {
				t.Fatalf("two instances with one key publish different JWKS:\n%s\n%s", a, b)
			}
			g, err := jwtguard.New(t.Context(), jwtguard.WithJWKSet(a), jwtguard.WithIssuer("https://login.example"),
				jwtguard.WithAudience("api"), jwtguard.WithClock(clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			clock.Add(48 * time.Hour) // past the default rotation age
			token, _, err := instances[1].Issue("alice", nil)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+token)
			if _, err := g.Authenticate(r); err != nil {
				t.Fatalf("a token of instance b, checked against instance a's JWKS two days on: %v", err)
			}
			if later, _ := instances[0].JWKS(); !bytes.Equal(later, a) {
				t.Fatalf("the shared key was rotated away: %s", later)
			}
		})
	}
}

func TestSigningKeyRefused(t *testing.T) {
	t.Parallel()
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string][]issuer.Option{
		"P-384":             {issuer.WithSigningKey(p384)},
		"nil":               {issuer.WithSigningKey(nil)},
		"algorithm differs": {issuer.WithAlgorithm("EdDSA"), issuer.WithSigningKey(p256)},
	} {
		if _, err := issuer.New("https://login.example", opts...); !errors.Is(err, issuer.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}
