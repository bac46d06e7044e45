// Package jwtguardecho mounts a jwtguard.Guard in echo v4 apps.
//
// Refused requests get exactly the response the net/http guard writes
// (status, WWW-Authenticate, JSON body), no later handler runs, and the
// middleware returns the *jwtguard.Error so that echo's logger and error
// handler see it. The response is already committed then, which echo's
// DefaultHTTPErrorHandler respects; a custom HTTPErrorHandler must check
// c.Response().Committed too, or it writes a second body after the first.
//
// Apps that render every error in their own HTTPErrorHandler give
// [Middleware] the option [WithEchoErrorHandler]: refusals are then
// returned as an *echo.HTTPError, for echo's HTTPErrorHandler to write,
// with the WWW-Authenticate and Retry-After headers already set.
//
// [Require] decides like the core's Guard.Require, CORS preflights
// included: refused (401) unless the guard was built with
// jwtguard.InsecurePassUnauthenticatedPreflight. [Claims] reads the claims
// [Middleware] stored and, failing that, those in the request's context, so
// a handler test can inject claims with jwtguard.NewContext.
package jwtguardecho

import (
	"context"

	"github.com/jwtguard/jwtguard"
	"github.com/labstack/echo/v4"
)

// ClaimsKey is the echo context key under which [Middleware] stores the
// verified claims. Read them with [Claims], which also sees claims put into
// the request's context with jwtguard.NewContext.
const ClaimsKey = "jwtguard.claims"

// Middleware authenticates each request with g. On success the claims are
// in the request context (jwtguard.ClaimsFromContext(c.Request().Context()))
// and in the echo context ([Claims]); next's error is returned as is. A
// refusal is written as the net/http guard writes it, or with
// [WithEchoErrorHandler] handed to echo's HTTPErrorHandler; the [Require]
// middlewares after it do the same.
func Middleware(g *jwtguard.Guard, opts ...Option) echo.MiddlewareFunc {
	cfg := newConfig(opts)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			claims, err := g.Authenticate(c.Request())
			if err != nil {
				return refuse(c, g, err, cfg.echoErrors)
			}
			if claims != nil || cfg.echoErrors {
				ctx := c.Request().Context()
				if claims != nil {
					ctx = jwtguard.NewContext(ctx, claims)
					c.Set(ClaimsKey, claims)
				}
				if cfg.echoErrors {
					ctx = context.WithValue(ctx, echoErrorsKey{}, true)
				}
				c.SetRequest(c.Request().WithContext(ctx))
			}
			return next(c)
		}
	}
}

// Require checks reqs against the claims in the request's context, set by
// [Middleware] (which must run first) or by jwtguard.NewContext: 401
// without claims, 403 when a requirement fails. It decides exactly like
// g.Require, through g.AuthorizeRequest, and refuses the way the
// [Middleware] before it was told to: with [WithEchoErrorHandler] through
// echo's HTTPErrorHandler, otherwise (or with no Middleware before it) by
// writing the response itself.
func Require(g *jwtguard.Guard, reqs ...jwtguard.Requirement) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := g.AuthorizeRequest(c.Request(), reqs...); err != nil {
				return refuse(c, g, err, echoErrorsFrom(c.Request().Context()))
			}
			return next(c)
		}
	}
}

// RequireScopes is Require(g, jwtguard.Scopes(scopes...)).
func RequireScopes(g *jwtguard.Guard, scopes ...string) echo.MiddlewareFunc {
	return Require(g, jwtguard.Scopes(scopes...))
}

// Claims returns the claims [Middleware] verified for this request or,
// when it stored none, those in the request's context
// (jwtguard.ClaimsFromContext), such as a test put there with
// jwtguard.NewContext.
func Claims(c echo.Context) (*jwtguard.Claims, bool) {
	if claims, ok := c.Get(ClaimsKey).(*jwtguard.Claims); ok && claims != nil {
		return claims, true
	}
	if c.Request() == nil {
		return nil, false
	}
	return jwtguard.ClaimsFromContext(c.Request().Context())
}
