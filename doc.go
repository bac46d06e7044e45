// Package jwtguard protects net/http services with JWT access tokens.
//
// A [Guard] takes the token from the Authorization header (or a cookie, or
// another [Extractor]), verifies it against a cached JWKS or static keys,
// and puts the verified [Claims] in the request context:
//
//	g, err := jwtguard.New(ctx,
//		jwtguard.WithJWKS("https://idp.example.com/.well-known/jwks.json"),
//		jwtguard.WithIssuer("https://idp.example.com/"),
//		jwtguard.WithAudience("orders-api"),
//	)
//	mux.Handle("/api/", g.Handler(api)) // api is an http.Handler
//	// in a handler:
//	claims, ok := jwtguard.ClaimsFromContext(r.Context())
//
// # Security model
//
//   - Every token must carry exp; iss must be a configured issuer and aud
//     must name a configured audience, unless switched off by the loudly
//     named [WithoutIssuerCheck] and [WithoutAudienceCheck].
//   - Each algorithm is bound to a key type: RS*/PS* verify only with RSA keys
//     of 2048 bits or more, ES256/384/512 only with the matching curve, EdDSA
//     only with Ed25519, HS* only with a secret given by [WithHMACSecret]
//     (never one found in a fetched JWKS). "none" is never accepted, so alg
//     confusion cannot happen.
//   - Tokens are parsed strictly (unpadded base64url, JSON objects, typed
//     registered claims); crit headers are refused; tokens are capped at 8 KiB.
//   - A token taken from a cookie on an unsafe request is checked against
//     cross-origin requests (net/http's CrossOriginProtection).
//   - Refusals are RFC 6750 responses with fixed descriptions; the reason, in
//     words, is in the [*Error] and the Debug log, never the token itself.
//
// Key sets are fetched over https only (loopback excepted), refreshed in the
// background, refreshed early for an unknown kid at most once per cooldown,
// and served stale while the identity provider is down; see [KeySetSettings].
//
// Verified tokens are cached (keyed by SHA-256 of the token, re-checked on
// every hit), so a client reusing its token costs about a microsecond.
//
// Framework adapters for gin and echo live in nested modules under adapters/.
// The issuer package signs access tokens and runs cookie sessions with
// rotating refresh tokens ([TokenCookie] carries them safely), and the
// jwtguardtest package provides a fake issuer for tests.
package jwtguard
