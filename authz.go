package jwtguard

import (
	"context"
	"net/http"
	"strings"
)

// A Requirement is an authorization rule on verified claims, checked by
// [Guard.Require] after the guard has authenticated the request.
type Requirement func(*Claims) error

// Scopes requires every one of scopes. A token without them is refused
// with 403 and error="insufficient_scope", scope="..." (RFC 6750 §3.1).
func Scopes(scopes ...string) Requirement {
	want := strings.Join(scopes, " ")
	return func(c *Claims) error {
		for _, s := range scopes {
			if !c.HasScope(s) {
				e := fail(ErrInsufficientScope)
				e.Scope = want
				return e
			}
		}
		return nil
	}
}

// Claim requires ok(c) to hold; otherwise the request is refused with 403.
func Claim(ok func(c *Claims) bool) Requirement {
	return func(c *Claims) error {
		if !ok(c) {
			return fail(ErrForbidden)
		}
		return nil
	}
}

// Authorize checks reqs against the claims in ctx. Without claims (no guard
// before it, or an anonymous request under [WithCredentialsOptional]) it
// returns an error for 401. Framework adapters use it.
func Authorize(ctx context.Context, reqs ...Requirement) error {
	c, ok := ClaimsFromContext(ctx)
	if !ok {
		return fail(ErrNoToken)
	}
	for _, r := range reqs {
		if err := r(c); err != nil {
			return asError(err)
		}
	}
	return nil
}

// Require returns middleware, placed after [Guard.Handler], that lets a
// request through only if its claims meet every requirement.
func (g *Guard) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if g.passPreflight && isPreflight(r) {
				next.ServeHTTP(w, r)
				return
			}
			if err := Authorize(r.Context(), reqs...); err != nil {
				g.WriteError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireScopes is Require(Scopes(scopes...)).
func (g *Guard) RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	return g.Require(Scopes(scopes...))
}
