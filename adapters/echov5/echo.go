// Package jwtguardechov5 mounts a jwtguard.Guard in echo v5 apps.
//
// Refused requests get exactly the response the net/http guard writes
// (status, WWW-Authenticate, JSON body), no later handler runs, and the
// middleware returns the *jwtguard.Error so that echo's logger and error
// handler see it; *jwtguard.Error implements echo's HTTPStatusCoder. The
// response is already committed then, which echo's DefaultHTTPErrorHandler
// respects; a custom HTTPErrorHandler should check the Committed flag of
// echo.UnwrapResponse(c.Response()) too.
package jwtguardechov5

import (
	"github.com/jwtguard/jwtguard"
	"github.com/labstack/echo/v5"
)

// ClaimsKey is the echo context key under which verified claims are stored.
const ClaimsKey = "jwtguard.claims"

// Middleware authenticates each request with g. On success the claims are
// in the request context (jwtguard.ClaimsFromContext(c.Request().Context()))
// and in the echo context ([Claims]); next's error is returned as is.
func Middleware(g *jwtguard.Guard) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			claims, err := g.Authenticate(c.Request())
			if err != nil {
				g.WriteError(c.Response(), c.Request(), err)
				return err
			}
			if claims != nil {
				c.SetRequest(c.Request().WithContext(jwtguard.NewContext(c.Request().Context(), claims)))
				c.Set(ClaimsKey, claims)
			}
			return next(c)
		}
	}
}

// Require checks reqs against the claims set by [Middleware], which must
// run first: 401 without claims, 403 when a requirement fails.
func Require(g *jwtguard.Guard, reqs ...jwtguard.Requirement) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if err := jwtguard.Authorize(c.Request().Context(), reqs...); err != nil {
				g.WriteError(c.Response(), c.Request(), err)
				return err
			}
			return next(c)
		}
	}
}

// RequireScopes is Require(g, jwtguard.Scopes(scopes...)).
func RequireScopes(g *jwtguard.Guard, scopes ...string) echo.MiddlewareFunc {
	return Require(g, jwtguard.Scopes(scopes...))
}

// Claims returns the claims [Middleware] verified for this request.
func Claims(c *echo.Context) (*jwtguard.Claims, bool) {
	claims, ok := c.Get(ClaimsKey).(*jwtguard.Claims)
	return claims, ok && claims != nil
}
