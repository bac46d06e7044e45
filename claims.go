package jwtguard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"time"
)

// Claims are the verified claims of a token. A *Claims is immutable and safe
// for concurrent use: the guard may hand the same value to many requests.
type Claims struct {
	issuer    string
	subject   string
	id        string
	audience  []string
	expiresAt time.Time
	notBefore time.Time
	issuedAt  time.Time
	scopes    []string
	raw       []byte // the payload JSON, for Decode
}

// Issuer returns the iss claim.
func (c *Claims) Issuer() string { return c.issuer }

// Subject returns the sub claim.
func (c *Claims) Subject() string { return c.subject }

// ID returns the jti claim.
func (c *Claims) ID() string { return c.id }

// Audience returns the aud claim as a list (a single string becomes one element).
func (c *Claims) Audience() []string { return slices.Clone(c.audience) }

// ExpiresAt returns the exp claim.
func (c *Claims) ExpiresAt() time.Time { return c.expiresAt }

// NotBefore returns the nbf claim, or the zero time when absent.
func (c *Claims) NotBefore() time.Time { return c.notBefore }

// IssuedAt returns the iat claim, or the zero time when absent.
func (c *Claims) IssuedAt() time.Time { return c.issuedAt }

// Scopes returns the token's scopes, read from "scope" (a space-delimited
// string, RFC 8693/9068) and "scp" (a string or an array, as Okta and Entra use).
func (c *Claims) Scopes() []string { return slices.Clone(c.scopes) }

// HasScope reports whether the token grants scope s.
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.scopes, s) }

// Decode unmarshals the whole claims set into v, as encoding/json does.
// Use it for custom claims.
func (c *Claims) Decode(v any) error {
	if err := json.Unmarshal(c.raw, v); err != nil {
		return errors.New("jwtguard: decode claims: " + err.Error())
	}
	return nil
}

// JSON returns a copy of the claims set as it appeared in the token.
func (c *Claims) JSON() []byte { return bytes.Clone(c.raw) }

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
	return parseClaims(payload)
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

// wireClaims is the registered part of a claims set, typed strictly: a
// claim of the wrong JSON type makes the token malformed.
type wireClaims struct {
	Issuer    *string     `json:"iss"`
	Subject   *string     `json:"sub"`
	ID        *string     `json:"jti"`
	Audience  stringList  `json:"aud"`
	ExpiresAt numericDate `json:"exp"`
	NotBefore numericDate `json:"nbf"`
	IssuedAt  numericDate `json:"iat"`
	Scope     *stringList `json:"scope"`
	Scp       *stringList `json:"scp"`
}

func parseClaims(payload []byte) (*Claims, error) {
	if len(payload) == 0 || payload[0] != '{' {
		return nil, ErrMalformedToken
	}
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, ErrMalformedToken
	}
	c := &Claims{
		audience:  w.Audience.values,
		expiresAt: w.ExpiresAt.t,
		notBefore: w.NotBefore.t,
		issuedAt:  w.IssuedAt.t,
		raw:       payload,
	}
	if w.Issuer != nil {
		c.issuer = *w.Issuer
	}
	if w.Subject != nil {
		c.subject = *w.Subject
	}
	if w.ID != nil {
		c.id = *w.ID
	}
	if w.Scope != nil {
		w.Scope.splitSpaces()
		c.scopes = append(c.scopes, w.Scope.values...)
	}
	if w.Scp != nil {
		w.Scp.splitSpaces()
		for _, s := range w.Scp.values {
			if !slices.Contains(c.scopes, s) {
				c.scopes = append(c.scopes, s)
			}
		}
	}
	return c, nil
}

// stringList accepts a string or an array of strings. A string is split on
// spaces, which is right for scope/scp; aud is never space-split, see audience.
type stringList struct {
	values []string
	single bool
}

func (l *stringList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		l.values, l.single = []string{s}, true
		return nil
	}
	return json.Unmarshal(b, &l.values)
}

func (l *stringList) splitSpaces() {
	if l.single {
		l.values = strings.Fields(l.values[0])
	}
}

// numericDate is a JSON number of seconds since the epoch (RFC 7519 §2).
// Fractions are kept; values past year 9999 are clamped, never wrapped.
type numericDate struct {
	t   time.Time
	set bool
}

var maxDate = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ErrMalformedToken
	}
	switch {
	case f >= float64(maxDate.Unix()):
		d.t = maxDate
	case f <= 0:
		d.t = time.Unix(0, 0).UTC()
	default:
		sec, frac := math.Modf(f)
		d.t = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	d.set = true
	return nil
}
