package jwtguard

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// A Requirement is an authorization rule on verified claims, checked by
// [Guard.Require] after the guard has authenticated the request: the token
// is valid, but may it do this? An error refuses the request with 403
// (ErrForbidden for a plain error, which is kept as the cause and logged,
// never sent), unless it is an [*Error] with another status. Validators
// given to [WithValidator] are about the token itself and refuse with 401.
type Requirement func(*Claims) error

// Scopes requires every one of scopes. A token without them is refused
// with 403 and error="insufficient_scope", scope="..." (RFC 6750 §3.1).
func Scopes(scopes ...string) Requirement {
	want := strings.Join(scopes, " ")
	return func(c *Claims) error {
		for _, s := range scopes {
			if !c.HasScope(s) {
				e := failf(ErrInsufficientScope, "scope %s missing (has: %s)", quote(s), quoteList(c.jc.Scopes))
				e.Scope = want
				return e
			}
		}
		return nil
	}
}

// AnyScope requires at least one of scopes; a token with none is refused
// like [Scopes] refuses, naming them all.
func AnyScope(scopes ...string) Requirement {
	want := strings.Join(scopes, " ")
	return func(c *Claims) error {
		if slices.ContainsFunc(scopes, c.HasScope) {
			return nil
		}
		e := failf(ErrInsufficientScope, "none of the scopes %s (has: %s)", quoteList(scopes), quoteList(c.jc.Scopes))
		e.Scope = want
		return e
	}
}

// Permissions requires every one of perms in the "permissions" claim
// (Auth0 RBAC). A token without them is refused with 403 insufficient_scope.
func Permissions(perms ...string) Requirement {
	return func(c *Claims) error {
		for _, p := range perms {
			if !c.HasPermission(p) {
				return failf(ErrInsufficientScope, "permission %s missing (has: %s)", quote(p), quoteList(c.jc.Permissions))
			}
		}
		return nil
	}
}

// AnyPermission requires at least one of perms in the "permissions" claim.
func AnyPermission(perms ...string) Requirement {
	return func(c *Claims) error {
		if slices.ContainsFunc(perms, c.HasPermission) {
			return nil
		}
		return failf(ErrInsufficientScope, "none of the permissions %s (has: %s)", quoteList(perms), quoteList(c.jc.Permissions))
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
			return asError(err, ErrForbidden)
		}
	}
	return nil
}

// AuthorizeRequest is [Authorize] for r, as [Guard.Require] applies it: a
// CORS preflight passes when the guard was built with
// [InsecurePassUnauthenticatedPreflight]. Framework adapters use it.
func (g *Guard) AuthorizeRequest(r *http.Request, reqs ...Requirement) error {
	if g.passPreflight && isPreflight(r) {
		return nil
	}
	return Authorize(r.Context(), reqs...)
}

// Require returns middleware, placed after [Guard.Handler], that lets a
// request through only if its claims meet every requirement.
func (g *Guard) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := g.AuthorizeRequest(r, reqs...); err != nil {
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
