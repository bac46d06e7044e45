package jwtguard_test

import (
	"errors"
	"testing"

	"github.com/jwtguard/jwtguard"
)

// TestNodeDPoPInterop verifies DPoP proofs and DPoP-bound tokens made by
// Node's jose (testdata/interop/dpop.mjs): its RFC 7638 thumbprints, its
// proofs for five key types, and hostile proofs it signed.
func TestNodeDPoPInterop(t *testing.T) {
	t.Parallel()
	const resource = "https://api.example.com/orders"
	var fixture struct {
		Clients []struct {
			Alg, Jkt, Token string
			Proofs          []struct {
				Name, Method, Proof string
				Bad                 bool
			}
		}
	}
	issuer := runNodeSigner(t, &fixture, "dpop.mjs", audience, resource)
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(issuer), jwtguard.WithIssuer(issuer), jwtguard.WithAudience(audience),
		jwtguard.WithAccessTokenProfile(), jwtguard.WithDPoP(jwtguard.DPoPRequired))
	if err != nil {
		t.Fatal(err)
	}
	if len(fixture.Clients) < 5 {
		t.Fatalf("only %d clients from dpop.mjs", len(fixture.Clients))
	}
	for _, c := range fixture.Clients {
		for _, p := range c.Proofs {
			t.Run(c.Alg+"/"+p.Name, func(t *testing.T) {
				claims, err := g.Authenticate(dpopRequest(p.Method, resource, c.Token, p.Proof))
				if p.Bad {
					if !errors.Is(err, jwtguard.ErrInvalidDPoPProof) {
						t.Fatalf("hostile proof: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if claims.KeyThumbprint() != c.Jkt || claims.Subject() != "alice" {
					t.Fatalf("claims %s", claims.JSON())
				}
			})
		}
		// The token alone, as Bearer, is refused.
		if _, err := g.Authenticate(bearer(c.Token)); !errors.Is(err, jwtguard.ErrTokenBinding) {
			t.Errorf("%s: bound token as Bearer: %v", c.Alg, err)
		}
	}
}
