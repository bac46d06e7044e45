// Package jwtguardgin mounts a jwtguard.Guard in gin apps.
//
// Refused requests get exactly the response the net/http guard writes
// (status, WWW-Authenticate, JSON body), the chain is aborted so no later
// handler runs, and the error is added to c.Errors, where gin's logger and
// your own middleware see it.
package jwtguardgin

import (
	"github.com/gin-gonic/gin"
	"github.com/jwtguard/jwtguard"
)

// ClaimsKey is the gin context key under which verified claims are stored.
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

// Require checks reqs against the claims set by [Middleware], which must
// run first: 401 without claims, 403 when a requirement fails.
func Require(g *jwtguard.Guard, reqs ...jwtguard.Requirement) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := jwtguard.Authorize(c.Request.Context(), reqs...); err != nil {
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

// Claims returns the claims [Middleware] verified for this request.
func Claims(c *gin.Context) (*jwtguard.Claims, bool) {
	v, ok := c.Get(ClaimsKey)
	if !ok {
		return nil, false
	}
	claims, ok := v.(*jwtguard.Claims)
	return claims, ok && claims != nil
}

func abort(c *gin.Context, g *jwtguard.Guard, err error) {
	g.WriteError(c.Writer, c.Request, err)
	_ = c.Error(err) // private error type: logged, never rendered
	c.Abort()
}
