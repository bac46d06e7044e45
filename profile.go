package jwtguard

// accessTokenClaims are the claims RFC 9068 §2.2 requires of a JWT access
// token.
var accessTokenClaims = []string{"iss", "exp", "aud", "sub", "client_id", "iat", "jti"}

// WithAccessTokenProfile applies the JWT access-token profile of RFC 9068
// to the issuer: the typ header must be at+jwt (application/at+jwt
// matches too), and iss, exp, aud, sub, client_id, iat and jti must be
// present (any value but null). It is [WithRequiredType]("at+jwt") plus
// [WithRequiredClaims] of those names, so it composes with both.
//
// Compared with the defaults: by default any typ passes (so an ID token
// of the same issuer could, if its aud matched), and only exp, iss and aud
// are required. The profile refuses ID tokens and other JWTs by their
// typ, and tokens that cannot name their subject, client or identity.
// Audience and signature rules stay as configured (an audience is always
// required). Adding another type with WithRequiredType widens the typ
// check to that type as well. Default: off.
func WithAccessTokenProfile() IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		c.types = append(c.types, "at+jwt")
		c.required = append(c.required, accessTokenClaims...)
		return nil
	})
}
