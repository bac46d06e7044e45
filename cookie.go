package jwtguard

import (
	"math"
	"net/http"
	"time"
)

// FromCookie reads the token from the cookie called name. A missing or
// empty cookie means no token; the same cookie sent twice (cookie tossing
// from a sibling subdomain) is an invalid request. Cookie tokens are sent by
// browsers on their own, so unsafe requests that carry one get a
// cross-origin check (see [WithTrustedOrigins]).
func FromCookie(name string) Extractor {
	return Extractor{name: "cookie " + name, ambient: true, cookie: name, extract: func(r *http.Request) (string, error) {
		var token string
		found := false
		for _, c := range r.CookiesNamed(name) {
			if found {
				return "", ErrInvalidRequest
			}
			token, found = c.Value, true
		}
		if token != "" && !isB64Token(token) {
			return "", ErrInvalidRequest
		}
		return token, nil
	}}
}

// TokenCookie describes the cookie that carries a token to a browser, with
// safe defaults: HttpOnly (scripts cannot read it), Secure, SameSite=Lax,
// Path=/ and the "__Host-" name prefix, which browsers honour only for
// Secure, host-only, Path=/ cookies, so a sibling subdomain cannot plant
// one. Build it with [NewTokenCookie]; the value is immutable.
type TokenCookie struct {
	name     string
	path     string
	sameSite http.SameSite
	secure   bool
}

// A CookieOption adjusts a [TokenCookie].
type CookieOption func(*TokenCookie)

// WithCookiePath scopes the cookie to path (the refresh endpoint, say). A
// path other than "/" changes the prefix to "__Secure-". Default: "/".
func WithCookiePath(path string) CookieOption {
	return func(c *TokenCookie) { c.path = path }
}

// WithSameSiteStrict sends the cookie on same-site requests only, not on
// top-level navigations from other sites. Default: SameSite=Lax.
func WithSameSiteStrict() CookieOption {
	return func(c *TokenCookie) { c.sameSite = http.SameSiteStrictMode }
}

// InsecureCookieWithoutSecure drops the Secure attribute and the name
// prefix, so the cookie also travels over plain http where anyone on the
// path can read it. Only for local development over http.
func InsecureCookieWithoutSecure() CookieOption {
	return func(c *TokenCookie) { c.secure = false }
}

// NewTokenCookie describes a token cookie whose base name is name
// ("access_token" becomes "__Host-access_token").
func NewTokenCookie(name string, opts ...CookieOption) TokenCookie {
	c := TokenCookie{name: name, path: "/", sameSite: http.SameSiteLaxMode, secure: true}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Name is the cookie's full name, prefix included.
func (c TokenCookie) Name() string {
	switch {
	case !c.secure:
		return c.name
	case c.path == "/":
		return "__Host-" + c.name
	default:
		return "__Secure-" + c.name
	}
}

// Source reads the token from this cookie; pass it to [WithExtractors].
func (c TokenCookie) Extractor() Extractor { return FromCookie(c.Name()) }

// Set writes the cookie with token, expiring with it (Max-Age in whole
// seconds, rounded up). A token already expired clears the cookie instead.
func (c TokenCookie) Set(w http.ResponseWriter, token string, expires time.Time) {
	maxAge := int(math.Ceil(time.Until(expires).Seconds()))
	if maxAge <= 0 {
		c.Clear(w)
		return
	}
	http.SetCookie(w, c.cookie(token, maxAge))
}

// Clear deletes the cookie in the browser.
func (c TokenCookie) Clear(w http.ResponseWriter) {
	http.SetCookie(w, c.cookie("", -1))
}

func (c TokenCookie) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     c.Name(),
		Value:    value,
		Path:     c.path,
		MaxAge:   maxAge,
		Secure:   c.secure,
		HttpOnly: true,
		SameSite: c.sameSite,
	}
}
