package jwtguard_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the troubleshooting table in README.md")

// TestTroubleshootingTable produces the README's troubleshooting table:
// for the commonest misconfigurations, what the client sees and what the
// log says. Each row is a real guard refusing a real request; the README
// must match (go test -run TestTroubleshootingTable -update-readme).
func TestTroubleshootingTable(t *testing.T) {
	t.Parallel()
	idp := jwtguardtest.NewIssuer(t, "RS256")
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hanging.Close)
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, idp.URL, idp.JWKSURL())
	}))
	t.Cleanup(liar.Close)
	const tenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
	entraV2 := idp.URL + "/" + tenant + "/v2.0"

	guard := func(opts ...jwtguard.Option) *jwtguard.Guard {
		t.Helper()
		base := []jwtguard.Option{jwtguard.WithAudience("orders-api")}
		g, err := jwtguard.New(t.Context(), append(base, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	std := func(opts ...jwtguard.Option) *jwtguard.Guard {
		return guard(append([]jwtguard.Option{jwtguard.WithJWKS(idp.JWKSURL()), jwtguard.WithIssuer(idp.URL)}, opts...)...)
	}
	request := func(token string) *http.Request { return bearer(token) }
	tok := func(c jwtguardtest.Claims) string {
		if c["aud"] == nil {
			c["aud"] = "orders-api"
		}
		return idp.Sign(c)
	}
	clock := jwtguardtest.NewClock(time.Now().Truncate(time.Second))
	now := clock.Now()
	rows := []struct {
		problem string
		g       func() *jwtguard.Guard
		r       func() *http.Request
		config  func() error // a configuration error instead of a request
	}{
		{problem: "issuer configured with a trailing slash the IdP does not write",
			g: func() *jwtguard.Guard {
				return guard(jwtguard.WithJWKS(idp.JWKSURL()), jwtguard.WithIssuer(idp.URL+"/"))
			},
			r: func() *http.Request { return request(tok(jwtguardtest.Claims{})) }},
		{problem: "token requested for another API (wrong audience)",
			g: func() *jwtguard.Guard { return std() },
			r: func() *http.Request { return request(tok(jwtguardtest.Claims{"aud": "billing-api"})) }},
		{problem: "server clock behind the IdP's (clock skew)",
			g: func() *jwtguard.Guard { return std(jwtguard.WithClock(clock.Now)) },
			r: func() *http.Request {
				return request(tok(jwtguardtest.Claims{"iat": now.Add(2 * time.Minute).Unix(), "nbf": now.Add(2 * time.Minute).Unix()}))
			}},
		{problem: "JWKS URL wrong (404)",
			g: func() *jwtguard.Guard {
				return guard(jwtguard.WithJWKS(idp.URL+"/jwks.json"), jwtguard.WithIssuer(idp.URL))
			},
			r: func() *http.Request { return request(tok(jwtguardtest.Claims{})) }},
		{problem: "JWKS endpoint hangs",
			g: func() *jwtguard.Guard {
				return guard(jwtguard.WithJWKS(hanging.URL), jwtguard.WithIssuer(idp.URL),
					jwtguard.WithKeySetSettings(jwtguard.KeySetSettings{FetchTimeout: 100 * time.Millisecond}))
			},
			r: func() *http.Request { return request(tok(jwtguardtest.Claims{})) }},
		{problem: "HS512 required (`WithAlgorithms`) with a 32-byte secret",
			config: func() error {
				_, err := jwtguard.New(context.Background(), jwtguard.WithHMACSecret(make([]byte, 32)),
					jwtguard.WithAlgorithms("HS512"), jwtguard.WithIssuer(idp.URL), jwtguard.WithAudience("orders-api"))
				return err
			}},
		{problem: "discovery document names another issuer",
			g: func() *jwtguard.Guard { return guard(jwtguard.WithIssuerDiscovery(liar.URL)) },
			r: func() *http.Request { return request(tok(jwtguardtest.Claims{"iss": liar.URL})) }},
		{problem: "Keycloak token without an audience mapper (`aud: account`)",
			g: func() *jwtguard.Guard { return std() },
			r: func() *http.Request { return request(tok(jwtguardtest.Claims{"aud": "account"})) }},
		{problem: "Entra ID v1 token (`sts.windows.net`) where v2 is configured",
			g: func() *jwtguard.Guard {
				return guard(jwtguard.WithJWKS(idp.JWKSURL()), jwtguard.WithIssuer(entraV2))
			},
			r: func() *http.Request {
				return request(tok(jwtguardtest.Claims{"iss": "https://sts.windows.net/" + tenant + "/"}))
			}},
		{problem: "`__Host-` cookie over plain http (browsers do not send it)",
			g: func() *jwtguard.Guard {
				return std(jwtguard.WithExtractors(jwtguard.NewTokenCookie("access_token").Extractor()))
			},
			r: func() *http.Request { return httptest.NewRequest(http.MethodGet, "http://localhost:8080/api", nil) }},
	}
	var table strings.Builder
	table.WriteString("| misconfiguration | the client sees | the log says (`reason`) |\n| --- | --- | --- |\n")
	for _, row := range rows {
		var e *jwtguard.Error
		var client string
		if row.config != nil {
			err := row.config()
			if !errors.Is(err, jwtguard.ErrConfig) {
				t.Fatalf("%s: %v, want ErrConfig", row.problem, err)
			}
			client = "nothing: `New` fails"
			e = &jwtguard.Error{Err: err}
		} else {
			g := row.g()
			w := httptest.NewRecorder()
			r := row.r()
			g.Handler(protected).ServeHTTP(w, r)
			_, err := g.Authenticate(r)
			if !errors.As(err, &e) || w.Code != e.Status {
				t.Fatalf("%s: %d, %v", row.problem, w.Code, err)
			}
			client = fmt.Sprintf("%d %s", w.Code, strings.TrimSpace(w.Body.String()))
			if ra := w.Header().Get("Retry-After"); ra != "" {
				client += ", `Retry-After`"
			}
			client = "`" + strings.Replace(client, ", `Retry-After`", "` + `Retry-After`", 1)
			if !strings.HasSuffix(client, "`") {
				client += "`"
			}
		}
		reason := e.Error()
		if row.config != nil {
			reason = e.Err.Error()
		}
		for dyn, stable := range map[string]string{liar.URL: "https://login.example.com", hanging.URL: "https://keys.example.com", idp.URL: "https://idp.example.com"} {
			reason = strings.ReplaceAll(reason, dyn, stable)
		}
		reason = strings.ReplaceAll(reason, "|", `\|`)
		fmt.Fprintf(&table, "| %s | %s | `%s` |\n", row.problem, client, reason)
	}
	const start, end = "<!-- troubleshooting:start -->\n", "<!-- troubleshooting:end -->"
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	i, j := strings.Index(string(readme), start), strings.Index(string(readme), end)
	if i < 0 || j < i {
		t.Fatal("README.md has no troubleshooting markers")
	}
	got := string(readme[i+len(start) : j])
	if got == table.String() {
		return
	}
	if *updateReadme {
		out := string(readme[:i+len(start)]) + table.String() + string(readme[j:])
		if err := os.WriteFile("README.md", []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md troubleshooting table is out of date; run go test -run TestTroubleshootingTable -update-readme\nwant:\n%s", table.String())
}
