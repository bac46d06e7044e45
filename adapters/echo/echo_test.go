package jwtguardecho_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	jwtguardecho "github.com/jwtguard/jwtguard/adapters/echo"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/labstack/echo/v4"
)

// newApp builds the suite's app on a real echo engine, its middleware
// given opts.
func newApp(e *echo.Echo, g jwtguardtest.AdapterGuards, opts ...jwtguardecho.Option) http.Handler {
	hello := func(c echo.Context) error {
		g.Ran.Add(1)
		fromEcho, ok1 := jwtguardecho.Claims(c)
		fromCtx, ok2 := jwtguard.ClaimsFromContext(c.Request().Context())
		switch {
		case ok1 != ok2 || fromEcho != fromCtx:
			return c.String(200, "mismatch")
		case !ok1:
			return c.String(200, "anonymous")
		}
		return c.String(200, "hello "+fromEcho.Subject())
	}
	orders := func(c echo.Context) error {
		g.Ran.Add(1)
		return c.String(200, "orders")
	}
	api := e.Group("/api", jwtguardecho.Middleware(g.Required, opts...))
	api.GET("/me", hello)
	api.OPTIONS("/me", hello)
	api.GET("/orders", orders, jwtguardecho.RequireScopes(g.Required, "orders:read"))
	api.GET("/fail", func(c echo.Context) error {
		g.Ran.Add(1)
		return echo.NewHTTPError(http.StatusTeapot, "handler failed")
	})
	e.GET("/optional", hello, jwtguardecho.Middleware(g.Optional, opts...))
	e.GET("/public", func(c echo.Context) error { return c.String(200, "public") })
	preflight := e.Group("/preflight", jwtguardecho.Middleware(g.Preflight, opts...), jwtguardecho.RequireScopes(g.Preflight, "orders:read"))
	preflight.GET("/orders", orders)
	preflight.OPTIONS("/orders", orders)
	injected := e.Group("/injected")
	if len(opts) > 0 {
		// A Require with no Middleware before it writes its refusals
		// itself, so here the routes for handler tests sit behind the
		// Optional guard, which lets the tokenless requests and their
		// injected claims through and tells Require how to refuse.
		injected.Use(jwtguardecho.Middleware(g.Optional, opts...))
	}
	injected.GET("", hello)
	injected.GET("/orders", orders, jwtguardecho.RequireScopes(g.Required, "orders:read"))
	return e
}

func TestAdapterSuite(t *testing.T) {
	jwtguardtest.RunAdapterSuite(t, func(g jwtguardtest.AdapterGuards) http.Handler {
		return newApp(echo.New(), g)
	})
}

// TestAdapterSuiteEchoErrorHandler runs the suite with refusals handed to
// an app's central HTTPErrorHandler, one that renders RFC 6750 bodies from
// the *jwtguard.Error and, like many, never checks Committed: the
// responses must still match the net/http guard's.
func TestAdapterSuiteEchoErrorHandler(t *testing.T) {
	jwtguardtest.RunAdapterSuite(t, func(g jwtguardtest.AdapterGuards) http.Handler {
		e := echo.New()
		e.HTTPErrorHandler = func(err error, c echo.Context) {
			var je *jwtguard.Error
			if !errors.As(err, &je) {
				e.DefaultHTTPErrorHandler(err, c)
				return
			}
			code := je.Code
			if code == "" {
				code = strings.ToLower(strings.ReplaceAll(http.StatusText(je.Status), " ", "_"))
			}
			_ = c.JSON(je.Status, map[string]string{"error": code, "error_description": je.Description})
		}
		return newApp(e, g, jwtguardecho.WithEchoErrorHandler())
	})
}

// TestRefusalRenderedOnce checks that a refusal ends in exactly one JSON
// document, with its status and challenge, by default and with
// WithEchoErrorHandler, even when the app's HTTPErrorHandler does not check
// Committed.
func TestRefusalRenderedOnce(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience("a"))
	if err != nil {
		t.Fatal(err)
	}
	noScope := "Bearer " + iss.Sign(jwtguardtest.Claims{"aud": "a"})
	// central renders every error as {"message": ...} and never checks Committed.
	central := func(err error, c echo.Context) {
		status, msg := http.StatusInternalServerError, "internal error"
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status, msg = he.Code, he.Message.(string)
		}
		_ = c.JSON(status, map[string]string{"message": msg})
	}
	tests := []struct {
		name          string
		opts          []jwtguardecho.Option
		handler       func(e *echo.Echo) echo.HTTPErrorHandler // nil: echo's default
		auth          string
		wantStatus    int
		wantChallenge string
		wantBody      string
		wantErr       error // what the error handler sees, with errors.Is
	}{
		{"default", nil, nil, "", 401, `Bearer realm="api"`,
			`{"error":"unauthorized","error_description":"authentication required"}`, jwtguard.ErrNoToken},
		{"default, requirement", nil, nil, noScope, 403, `Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="orders:read"`,
			`{"error":"insufficient_scope","error_description":"insufficient scope"}`, jwtguard.ErrInsufficientScope},
		{"echo's default error handler", []jwtguardecho.Option{jwtguardecho.WithEchoErrorHandler()}, nil, "", 401, `Bearer realm="api"`,
			`{"message":"authentication required"}`, jwtguard.ErrNoToken},
		{"central error handler", []jwtguardecho.Option{jwtguardecho.WithEchoErrorHandler()}, func(*echo.Echo) echo.HTTPErrorHandler { return central }, "Bearer not.a.jwt", 401,
			`Bearer realm="api", error="invalid_token", error_description="malformed token"`, `{"message":"malformed token"}`, jwtguard.ErrMalformedToken},
		{"central error handler, requirement", []jwtguardecho.Option{jwtguardecho.WithEchoErrorHandler()}, func(*echo.Echo) echo.HTTPErrorHandler { return central }, noScope, 403,
			`Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="orders:read"`, `{"message":"insufficient scope"}`, jwtguard.ErrInsufficientScope},
		{"nil option", []jwtguardecho.Option{nil}, nil, "", 401, `Bearer realm="api"`,
			`{"error":"unauthorized","error_description":"authentication required"}`, jwtguard.ErrNoToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := echo.New()
			var seen []error
			handler := e.DefaultHTTPErrorHandler
			if tc.handler != nil {
				handler = tc.handler(e)
			}
			e.HTTPErrorHandler = func(err error, c echo.Context) {
				seen = append(seen, err)
				handler(err, c)
			}
			ran := false
			e.GET("/orders", func(c echo.Context) error { ran = true; return nil },
				jwtguardecho.Middleware(g, tc.opts...), jwtguardecho.RequireScopes(g, "orders:read"))
			r := httptest.NewRequest("GET", "/orders", nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, r)
			if w.Code != tc.wantStatus || ran {
				t.Fatalf("status %d, handler ran %v; want %d and no run", w.Code, ran, tc.wantStatus)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantChallenge)
			}
			if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
				t.Errorf("Content-Type = %q", got)
			}
			docs := jsonDocuments(t, w.Body.String())
			if len(docs) != 1 || docs[0] != tc.wantBody {
				t.Errorf("body has %d JSON documents %q, want one: %s", len(docs), docs, tc.wantBody)
			}
			var je *jwtguard.Error
			if len(seen) != 1 || !errors.Is(seen[0], tc.wantErr) || !errors.As(seen[0], &je) || je.Status != tc.wantStatus {
				t.Errorf("error handler saw %v, want one error matching %v", seen, tc.wantErr)
			}
		})
	}
}

// jsonDocuments splits body into its JSON values, compacted.
func jsonDocuments(t *testing.T, body string) []string {
	t.Helper()
	var docs []string
	dec := json.NewDecoder(strings.NewReader(body))
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); err == io.EOF {
			return docs
		} else if err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		docs = append(docs, string(v))
	}
}

// TestClaimsInHandlerTest: a handler test sees claims put into the
// request's context with jwtguard.NewContext, through Claims and Require.
func TestClaimsInHandlerTest(t *testing.T) {
	t.Parallel()
	g, err := jwtguard.New(t.Context(), jwtguard.WithHMACSecret(make([]byte, 32)), jwtguard.WithIssuer("https://issuer.example"), jwtguard.WithAudience("a"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := jwtguard.ClaimsFromJSON([]byte(`{"sub":"alice","scope":"orders:read"}`))
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	r := httptest.NewRequestWithContext(jwtguard.NewContext(t.Context(), want), "GET", "/", nil)
	c := e.NewContext(r, httptest.NewRecorder())
	got, ok := jwtguardecho.Claims(c)
	if !ok || got != want {
		t.Fatalf("Claims = %v, %v; want the injected claims", got, ok)
	}
	handler := jwtguardecho.RequireScopes(g, "orders:read")(func(c echo.Context) error { return c.String(200, "orders") })
	if err := handler(c); err != nil {
		t.Fatalf("RequireScopes with injected claims: %v", err)
	}
	if _, ok := jwtguardecho.Claims(e.NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder())); ok {
		t.Fatal("Claims without any: ok")
	}
}

// TestErrorReachesEcho checks that echo's error handler receives the
// guard's error, and that a handler's own error reaches it unchanged.
func TestErrorReachesEcho(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience("a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]jwtguardecho.Option{nil, {jwtguardecho.WithEchoErrorHandler()}} {
		var seen []error
		e := echo.New()
		e.HTTPErrorHandler = func(err error, c echo.Context) {
			seen = append(seen, err)
			e.DefaultHTTPErrorHandler(err, c)
		}
		handlerErr := errors.New("db down")
		e.GET("/", func(c echo.Context) error { return handlerErr }, jwtguardecho.Middleware(g, opts...))

		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		var je *jwtguard.Error
		if w.Code != 401 || len(seen) != 1 || !errors.As(seen[0], &je) || je.StatusCode() != 401 {
			t.Fatalf("refusal (%d options): status %d, error handler saw %v", len(opts), w.Code, seen)
		}

		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+iss.Sign(jwtguardtest.Claims{"aud": "a"}))
		w = httptest.NewRecorder()
		e.ServeHTTP(w, r)
		if w.Code != 500 || len(seen) != 2 || seen[1] != handlerErr {
			t.Fatalf("handler error (%d options): status %d, error handler saw %v", len(opts), w.Code, seen)
		}
	}
}
