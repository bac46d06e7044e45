// Package jwtguardgin mounts a jwtguard.Guard in gin apps.
//
// Refused requests get exactly the response the net/http guard writes
// (status, WWW-Authenticate, JSON body), the chain is aborted so no later
// handler runs, and the error is added to c.Errors, where gin's logger and
// your own middleware see it. [Require] decides like the core's
// Guard.Require, CORS preflights included: refused (401) unless the guard
// was built with jwtguard.InsecurePassUnauthenticatedPreflight.
//
// [Claims] reads the claims [Middleware] stored and, failing that, those in
// the request's context, so a handler test can inject claims with
// jwtguard.NewContext instead of minting a token.
package jwtguardgin

import (
	"errors"
	"github.com/gin-gonic/gin"
	"github.com/jwtguard/jwtguard"
)

// ClaimsKey is the gin context key under which [Middleware] stores the
// verified claims. Read them with [Claims], which also sees claims put into
// the request's context with jwtguard.NewContext.
const ClaimsKey = "jwtguard.claims"

// Middleware authenticates each request with g. On success the claims are
// in the request context (jwtguard.ClaimsFromContext(c.Request.Context()))
// and in the gin context ([Claims]).
func Middleware(g *jwtguard.Guard) gin.HandlerFunc {
	return func(c *gin.Context) {
		claims, err := g.Authenticate(c.Request)
		if err != nil {
			abort(c, g, err)
			return
		}
		if claims != nil {
			c.Request = c.Request.WithContext(jwtguard.NewContext(c.Request.Context(), claims))
			c.Set(ClaimsKey, claims)
		}
		c.Next()
	}
}

// Require checks reqs against the claims in the request's context, set by
// [Middleware] (which must run first) or by jwtguard.NewContext: 401
// without claims, 403 when a requirement fails. It decides exactly like
// g.Require, through g.AuthorizeRequest.
func Require(g *jwtguard.Guard, reqs ...jwtguard.Requirement) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := g.AuthorizeRequest(c.Request, reqs...); err != nil {
			abort(c, g, err)
			return
		}
		c.Next()
	}
}

// RequireScopes is Require(g, jwtguard.Scopes(scopes...)).
func RequireScopes(g *jwtguard.Guard, scopes ...string) gin.HandlerFunc {
	return Require(g, jwtguard.Scopes(scopes...))
}

// Claims returns the claims [Middleware] verified for this request or,
// when it stored none, those in the request's context
// (jwtguard.ClaimsFromContext), such as a test put there with
// jwtguard.NewContext.
func Claims(c *gin.Context) (*jwtguard.Claims, bool) {
	if v, ok := c.Get(ClaimsKey); ok {
		if claims, ok := v.(*jwtguard.Claims); ok && claims != nil {
			return claims, true
		}
	}
	if c.Request == nil { // gin.CreateTestContext leaves it unset
		return nil, false
	}
	return jwtguard.ClaimsFromContext(c.Request.Context())
}

func abort(c *gin.Context, g *jwtguard.Guard, err error) {
	g.WriteError(c.Writer, c.Request, err)
	// gin's logger prints the error's text (the refusal's Detail: for
	// operators); gin's ErrorLogger renders an error's Meta when it has one
	// instead of its text, so clients never see that Detail.
	meta := gin.H{"error": "unauthorized"}
	if e := (*jwtguard.Error)(nil); errors.As(err, &e) {
		meta = gin.H{"error": e.Code, "error_description": e.Description}
	}
	c.Error(err).SetMeta(meta) //nolint:errcheck // the chain is aborted; the error is for logs
	c.Abort()
}
