package jwtguardechov5

// An Option configures [Middleware]. Options apply in order; giving one
// twice is the same as giving it once. A nil Option is ignored.
type Option func(*config)

type config struct {
	echoErrors bool // WithEchoErrorHandler
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithEchoErrorHandler hands refusals to echo's HTTPErrorHandler instead of
// writing them, for apps that render all errors in one place. The
// middleware then sets only the guard's headers (WWW-Authenticate,
// Retry-After on 503, Cache-Control: no-store), which an error handler
// would not know to set, and returns an *echo.HTTPError with the refusal's
// status, its generic description as the message ("token expired") and the
// *jwtguard.Error wrapped (errors.As finds it). The [Require] middlewares
// after this Middleware refuse the same way.
//
// echo.DefaultHTTPErrorHandler(true) sends the wrapped error's text, which
// carries the refusal's detail for operators (issuers, audiences, scopes):
// do not expose errors in production.
//
// Default: the middleware writes the net/http guard's RFC 6750 response
// itself and returns the *jwtguard.Error with the response committed.
func WithEchoErrorHandler() Option {
	return func(c *config) { c.echoErrors = true }
}
