package jwtguard_test

import (
	"context"
	"time"

	"github.com/jwtguard/jwtguard"
)

// The README's "Sender-constrained tokens" snippet, kept compiling here.
func ExampleWithDPoP() {
	ctx := context.Background()
	nonceSecret := []byte("a secret of at least thirty-two bytes!")
	guard, err := jwtguard.New(ctx,
		jwtguard.WithIssuer("https://login.example.com"),
		jwtguard.WithJWKS("https://login.example.com/jwks.json"),
		jwtguard.WithAudience("https://api.example.com"),
		jwtguard.WithAccessTokenProfile(),                    // RFC 9068: typ at+jwt; sub, client_id, iat, jti required
		jwtguard.WithDPoP(jwtguard.DPoPRequired),             // or DPoPOptional: DPoP and unbound Bearer tokens
		jwtguard.WithPublicOrigin("https://api.example.com"), // behind a proxy: the origin clients sign (htu)
		jwtguard.WithDPoPNonce(nonceSecret, 5*time.Minute),   // optional server nonces, stateless across a fleet
	)
	_, _ = guard, err
}
