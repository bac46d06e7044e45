package jwtguard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/jwtguard/jwtguard/internal/jose"
	"slices"
	"sync/atomic"
	"time"
)

// Claims are the verified claims of a token. A *Claims is immutable and safe
// for concurrent use: the guard may hand the same value to many requests.
type Claims struct {
	jc     jose.Claims
	header TokenHeader
	token  string // the token itself, with WithRawToken only
	// encrypted: the token came as a JWE (its decryption is what a cache
	// hit saves, whatever the inner signature's alg).
	encrypted bool
	// goodAt is the RevocationList version at which these claims were last
	// found unrevoked (versions are unique across lists): a cache-hit check
	// costs two atomic loads. With two lists the claims go back and forth
	// between their versions, and each check looks the token up.
	goodAt atomic.Uint64
}

// TokenHeader holds the facts of a verified token's protected header.
type TokenHeader struct {
	Alg string // the signing algorithm
	Kid string // the key ID, "" when absent
	Typ string // the media type, "" when absent
}

// Header returns the verified token's header facts. It is zero for
// claims built with [ClaimsFromJSON].
func (c *Claims) Header() TokenHeader { return c.header }

// RawToken returns the token the claims were verified from, for token
// exchange or forwarding to another service; "" unless the guard was built
// with [WithRawToken].
func (c *Claims) RawToken() string { return c.token }

// Permissions returns the "permissions" claim (an array, as Auth0's RBAC
// writes it, or a space-delimited string).
func (c *Claims) Permissions() []string { return slices.Clone(c.jc.Permissions) }

// HasPermission reports whether the token grants permission p.
func (c *Claims) HasPermission(p string) bool { return slices.Contains(c.jc.Permissions, p) }

// Issuer returns the iss claim.
func (c *Claims) Issuer() string { return c.jc.Issuer }

// Subject returns the sub claim.
func (c *Claims) Subject() string { return c.jc.Subject }

// ID returns the jti claim.
func (c *Claims) ID() string { return c.jc.ID }

// SessionID returns the sid claim (OpenID Connect's session ID, which
// package issuer puts in its tokens), read as strictly as the others.
func (c *Claims) SessionID() string { return c.jc.SessionID }

// TenantID returns the tid claim (Microsoft Entra ID's tenant), read as
// strictly as the others.
func (c *Claims) TenantID() string { return c.jc.TenantID }

// Audience returns the aud claim as a list (a single string becomes one element).
func (c *Claims) Audience() []string { return slices.Clone(c.jc.Audience) }

// ExpiresAt returns the exp claim.
func (c *Claims) ExpiresAt() time.Time { return c.jc.ExpiresAt }

// NotBefore returns the nbf claim, or the zero time when absent.
func (c *Claims) NotBefore() time.Time { return c.jc.NotBefore }

// IssuedAt returns the iat claim, or the zero time when absent.
func (c *Claims) IssuedAt() time.Time { return c.jc.IssuedAt }

// Scopes returns the token's scopes, read from "scope" (a space-delimited
// string, RFC 8693/9068) and "scp" (a string or an array, as Okta and Entra use).
func (c *Claims) Scopes() []string { return slices.Clone(c.jc.Scopes) }

// HasScope reports whether the token grants scope s.
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.jc.Scopes, s) }

// Decode unmarshals the whole claims set into v, as encoding/json does.
// Use it for custom claims.
func (c *Claims) Decode(v any) error {
	if err := json.Unmarshal(c.jc.Raw, v); err != nil {
		return errors.New("jwtguard: decode claims: " + err.Error())
	}
	return nil
}

// JSON returns a copy of the claims set as it appeared in the token.
func (c *Claims) JSON() []byte { return bytes.Clone(c.jc.Raw) }

// DecodeClaims decodes the claims set into a new T. T is usually a struct
// with json tags for the custom claims an application needs.
func DecodeClaims[T any](c *Claims) (T, error) {
	var v T
	err := c.Decode(&v)
	return v, err
}

// ClaimsFromJSON builds Claims from a JSON claims set without verifying
// anything. It is for tests (with [NewContext]) and for tokens verified elsewhere.
func ClaimsFromJSON(payload []byte) (*Claims, error) {
	return parseClaims(bytes.Clone(payload)) // the claims share their payload's memory
}

// parseClaims reads a claims set strictly (see internal/jose).
func parseClaims(payload []byte) (*Claims, error) {
	c := new(Claims)
	if err := jose.ParseClaims(payload, &c.jc); err != nil {
		return nil, err
	}
	return c, nil
}

// claimsWithEntry is claims allocated together with their entry in the
// verified-token cache, for a token the cache will keep: one allocation,
// and the cache's map holds a pointer, not the entry (small slots, so a
// probe of a large cache reads fewer cache lines). Claims an application
// keeps after their eviction keep the entry's token string too.
type claimsWithEntry struct {
	Claims
	entry cacheEntry
}

// parseClaimsToCache is parseClaims with room for the claims' cache entry.
func parseClaimsToCache(payload []byte) (*Claims, *cacheEntry, error) {
	c := new(claimsWithEntry)
	if err := jose.ParseClaims(payload, &c.jc); err != nil {
		return nil, nil, err
	}
	return &c.Claims, &c.entry, nil
}

type ctxKey struct{}

// NewContext returns a copy of ctx that carries c. The guard uses it; so can
// tests of handlers that read [ClaimsFromContext].
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// ClaimsFromContext returns the claims the guard stored in ctx, if any.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Claims)
	return c, ok && c != nil
}
