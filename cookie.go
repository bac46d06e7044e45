package jwtguard

import (
	"net/http"
)

// FromCookie reads the token from the cookie called name. A missing or
// empty cookie means no token; the same cookie sent twice (cookie tossing
// from a sibling subdomain) is an invalid request. Cookie tokens are sent by
// browsers on their own, so unsafe requests that carry one get a
// cross-origin check (see [WithTrustedOrigins]).
func FromCookie(name string) TokenSource {
	return TokenSource{name: "cookie " + name, ambient: true, extract: func(r *http.Request) (string, error) {
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
