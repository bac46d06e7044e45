package jwtguardecho

import (
	"context"
	"errors"
	"net/http"

	"github.com/jwtguard/jwtguard"
	"github.com/labstack/echo/v4"
)

// echoErrorsKey marks a request whose [Middleware] was given
// [WithEchoErrorHandler], so that [Require] refuses the same way.
type echoErrorsKey struct{}

func echoErrorsFrom(ctx context.Context) bool {
	on, _ := ctx.Value(echoErrorsKey{}).(bool)
	return on
}

// refuse answers a refused request. By default it writes the guard's
// response and returns err, the response committed. With echoErrors it
// keeps only the headers of the guard's response and returns an
// *echo.HTTPError for echo's HTTPErrorHandler to write.
func refuse(c echo.Context, g *jwtguard.Guard, err error, echoErrors bool) error {
	if !echoErrors {
		g.WriteError(c.Response(), c.Request(), err)
		return err
	}
	var e *jwtguard.Error
	if !errors.As(err, &e) { // never: the guard returns only *jwtguard.Error
		e = &jwtguard.Error{Status: http.StatusInternalServerError, Err: err}
	}
	// The guard renders the response (and logs the refusal) into a
	// recorder; its headers are the guard's, the body is echo's to write.
	rec := headerRecorder{h: make(http.Header)}
	g.WriteError(&rec, c.Request(), e)
	h := c.Response().Header()
	for name, values := range rec.h {
		if name != "Content-Type" && name != "Content-Length" {
			h[name] = values
		}
	}
	// The error echo may render (debug mode) carries no Detail: that is
	// for logs, never for clients.
	msg := e.Description
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return &echo.HTTPError{Code: e.Status, Message: msg, Internal: e.Redacted()}
}

// headerRecorder is an http.ResponseWriter that keeps the headers and
// drops the status and the body.
type headerRecorder struct{ h http.Header }

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) WriteHeader(int)             {}
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
