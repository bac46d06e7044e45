// Package demo is the demo behind `go run ./example`: an issuer and an API
// and page protected by jwtguard, on one loopback listener.
package demo

import (
	"context"
	"crypto"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
)

// The demo user.
const (
	User        = "alice"
	Password    = "wonderland"
	APIAudience = "demo-api"
)

// Fleet is what the instances of a fleet share (the Redis variant,
// example/fleet): each is its own process with its own port, and a login
// on one is a login on all.
type Fleet struct {
	// Issuer is the iss of every instance's tokens, which every guard
	// accepts: in production, the public URL in front of the instances.
	Issuer string
	// SigningKey is the key every instance signs with (issuer.WithSigningKey).
	SigningKey crypto.Signer
	// Store keeps the refresh tokens; Revocations the revoked sessions.
	Store       issuer.Store
	Revocations issuer.Revocations
	// Status, if set, is served under "fleet" on /healthz; when it
	// reports false the instance is not healthy (503).
	Status func() (status any, healthy bool)
}

// Metrics is how an instance reports what its guards do: by default
// [PlainMetrics], a dependency-free Prometheus collector; example/fleet
// wires OpenTelemetry with a Prometheus exporter instead (this package
// imports no telemetry library).
type Metrics struct {
	// Observer is given to every guard (jwtguard.WithObserver).
	Observer jwtguard.Observer
	// Handler, if set, is served on GET /metrics.
	Handler http.Handler
	// Guard, if set, is called with the API's guard once built (for
	// gauges read from its Status).
	Guard func(*jwtguard.Guard) error
}

// An Option adjusts the demo.
type Option func(*config)

type config struct {
	fleet   *Fleet
	metrics *Metrics
}

// WithMetrics reports the guards' decisions, key fetches and key-set
// state through m. Default: [PlainMetrics].
func WithMetrics(m Metrics) Option { return func(c *config) { c.metrics = &m } }

// WithFleet runs the demo as one instance of a fleet. Default: a single
// instance with everything in memory.
func WithFleet(f Fleet) Option { return func(c *config) { c.fleet = &f } }

// Run serves the demo on ln until ctx ends.
func Run(ctx context.Context, ln net.Listener, out io.Writer, opts ...Option) error {
	app, err := New(ctx, "http://"+ln.Addr().String(), opts...)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(out, `jwtguard demo listening on %[1]s

In a browser: open %[1]s/ and log in as %[2]s / %[3]s.

With curl:
  # no token: 401 with a WWW-Authenticate challenge
  curl -i %[1]s/api/me

  # get an access token for the demo user
  TOKEN=$(curl -s -d username=%[2]s -d password=%[3]s %[1]s/token | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

  # with the token: 200 and the verified claims
  curl -i -H "Authorization: Bearer $TOKEN" %[1]s/api/me

  # a route that needs the orders:read scope
  curl -i -H "Authorization: Bearer $TOKEN" %[1]s/api/orders

DPoP mode (a key the page cannot export, a proof per request): open %[1]s/dpop.

  # key cache status, for health probes (redacted: no key URLs or fetch errors)
  curl -s %[1]s/healthz

  # metrics in Prometheus format: decisions by outcome and reason, cache
  # hits, key fetches, key age (names as in otel/grafana-dashboard.json)
  curl -s %[1]s/metrics

Press Ctrl+C to stop.
`, "http://"+ln.Addr().String(), User, Password)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// New builds the demo's handler for a server reachable at base.
func New(ctx context.Context, base string, opts ...Option) (http.Handler, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.metrics == nil {
		m := PlainMetrics()
		c.metrics = &m
	}
	issuerURL := base
	// DPoP proofs sent to the token endpoint and the session handlers are
	// checked as the API's guard checks them; their htu is on base.
	proofs, err := jwtguard.NewDPoPChecker(jwtguard.WithPublicOrigin(base))
	if err != nil {
		return nil, err
	}
	issuerOpts := []issuer.Option{issuer.WithAudience(APIAudience), issuer.WithAccessTokenTTL(5 * time.Minute), issuer.WithDPoP(proofs)}
	sessionOpts := []issuer.SessionOption{issuer.WithPages("/app", "/")}
	if f := c.fleet; f != nil {
		// Every instance signs as the fleet with the fleet's key, so each
		// one's JWKS (fetched from itself) verifies the others' tokens.
		issuerURL = f.Issuer
		issuerOpts = append(issuerOpts, issuer.WithSigningKey(f.SigningKey))
		sessionOpts = append(sessionOpts, issuer.WithStore(f.Store), issuer.WithRevocations(f.Revocations))
	}
	iss, err := issuer.New(issuerURL, issuerOpts...)
	if err != nil {
		return nil, err
	}
	sessions, err := issuer.NewSessions(iss, sessionOpts...)
	if err != nil {
		return nil, err
	}
	common := []jwtguard.Option{
		jwtguard.WithJWKS(base + "/.well-known/jwks.json"),
		jwtguard.WithIssuer(issuerURL),
		jwtguard.WithAudience(APIAudience),
		jwtguard.WithRequiredType("at+jwt"),
		jwtguard.WithRevocations(sessions.Revoker()), // logout and refresh-token theft revoke at once
	}
	common = append(common, jwtguard.WithObserver(c.metrics.Observer))
	// The API takes a bearer token or the session cookie; the page only the cookie.
	api, err := jwtguard.New(ctx, append(common, jwtguard.WithExtractors(
		jwtguard.FromAuthorizationHeader(), sessions.AccessCookie().Extractor()))...)
	if err != nil {
		return nil, err
	}
	page, err := jwtguard.New(ctx, append(common, jwtguard.WithExtractors(sessions.AccessCookie().Extractor()))...)
	if err != nil {
		return nil, err
	}
	// The DPoP API takes only DPoP-bound tokens, each request with a fresh
	// proof by the key the token is bound to.
	dpopAPI, err := jwtguard.New(ctx, append(common, jwtguard.WithDPoP(jwtguard.DPoPRequired), jwtguard.WithPublicOrigin(base))...)
	if err != nil {
		return nil, err
	}
	if c.metrics.Guard != nil {
		if err := c.metrics.Guard(api); err != nil {
			return nil, err
		}
	}

	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", iss.JWKSHandler())
	mux.Handle("POST /token", iss.TokenHandler(checkPassword))
	mux.Handle("/auth/login", sessions.LoginHandler(checkPassword))
	mux.Handle("/auth/refresh", sessions.RefreshHandler())
	mux.Handle("/auth/logout", sessions.LogoutHandler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { render(w, loginPage, nil) })
	mux.Handle("GET /app", page.Handler(http.HandlerFunc(appPage)))
	mux.HandleFunc("GET /dpop", func(w http.ResponseWriter, r *http.Request) { render(w, dpopPage, nil) })
	mux.HandleFunc("GET /dpop.js", dpopScript)
	mux.Handle("GET /api/dpop/me", dpopAPI.Handler(http.HandlerFunc(me)))
	mux.Handle("GET /api/me", api.Handler(http.HandlerFunc(me)))
	mux.Handle("GET /api/orders", api.Handler(api.RequireScopes("orders:read")(http.HandlerFunc(orders))))
	mux.Handle("POST /api/orders", api.Handler(api.RequireScopes("orders:write")(http.HandlerFunc(createOrder))))
	if c.metrics.Handler != nil {
		mux.Handle("GET /metrics", c.metrics.Handler)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		healthy := api.Ready()
		var body any = api.Status().Redacted() // public: no URLs or fetch errors
		if c.fleet != nil && c.fleet.Status != nil {
			fleet, ok := c.fleet.Status()
			healthy = healthy && ok
			body = map[string]any{"keys": body, "fleet": fleet}
		}
		if !healthy {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
	return mux, nil
}

// checkPassword is a stand-in for a real user store: one demo user, its
// password compared in constant time.
func checkPassword(r *http.Request) (string, map[string]any, error) {
	user, pass := r.PostFormValue("username"), r.PostFormValue("password")
	if subtle.ConstantTimeCompare([]byte(user), []byte(User)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(Password)) != 1 {
		return "", nil, issuer.ErrInvalidCredentials
	}
	return user, map[string]any{"scope": "orders:read orders:write profile", "name": "Alice Liddell"}, nil
}

func me(w http.ResponseWriter, r *http.Request) {
	claims, _ := jwtguard.ClaimsFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(claims.JSON())
}

func orders(w http.ResponseWriter, r *http.Request) {
	claims, _ := jwtguard.ClaimsFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"owner": claims.Subject(), "orders": []string{"#1001", "#1002"}})
}

func createOrder(w http.ResponseWriter, r *http.Request) {
	claims, _ := jwtguard.ClaimsFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"owner": claims.Subject(), "order": "#1003"})
}

func appPage(w http.ResponseWriter, r *http.Request) {
	claims, _ := jwtguard.ClaimsFromContext(r.Context())
	var pretty map[string]any
	_ = claims.Decode(&pretty)
	b, _ := json.MarshalIndent(pretty, "", "  ")
	render(w, appTemplate, map[string]any{"Subject": claims.Subject(), "Expires": claims.ExpiresAt().Format(time.RFC3339), "Claims": string(b)})
}

func render(w http.ResponseWriter, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	_ = t.Execute(w, data)
}

const style = `<style>body{font:16px system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
input,button{font:inherit;padding:.3rem .6rem;margin:.2rem 0}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style>`

var loginPage = template.Must(template.New("login").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>jwtguard demo: log in</title>` + style + `</head><body>
<h1>jwtguard demo</h1>
<p>Log in as <code>alice</code> / <code>wonderland</code>. The access token goes into an HttpOnly,
Secure, SameSite cookie that page scripts cannot read; the refresh token into another, sent only to
the <code>/auth</code> endpoints (refresh and logout).</p>
<form id="login" method="post" action="/auth/login">
<label>User <input name="username" id="username" autocomplete="username"></label><br>
<label>Password <input name="password" id="password" type="password" autocomplete="current-password"></label><br>
<button type="submit" id="submit">Log in</button>
</form>
<p><a href="/app">Protected page</a> · <a href="/dpop">DPoP mode</a> · <a href="/api/me">/api/me</a> · <a href="/healthz">/healthz</a></p>
</body></html>`))

var appTemplate = template.Must(template.New("app").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>jwtguard demo: protected</title>` + style + `</head><body>
<h1 id="hello">Hello {{.Subject}}</h1>
<p>Your access token expires at {{.Expires}}. Its verified claims:</p>
<pre id="claims">{{.Claims}}</pre>
<form method="post" action="/auth/refresh"><button id="refresh">Refresh the session</button></form>
<form method="post" action="/auth/logout"><button id="logout">Log out</button></form>
</body></html>`))
