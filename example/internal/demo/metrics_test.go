package demo

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
)

// TestMetrics: after a valid token (twice: verified, then from the cache),
// an expired one, one for another audience and none, /metrics counts each
// decision by outcome and reason, times them, reads the key set's state
// from the guard, and holds no token, sub or jti.
func TestMetrics(t *testing.T) {
	base, tokens := startMinting(t)
	valid := tokens.get(t)
	expired := tokens.mint(t, issuer.WithAudience(APIAudience), issuer.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
	otherAudience := tokens.mint(t, issuer.WithAudience("another-api"))
	for _, step := range []struct {
		token string
		want  int
	}{{valid, 200}, {valid, 200}, {expired, 401}, {otherAudience, 401}, {"", 401}} {
		if resp := get(t, base+"/api/me", step.token); resp.StatusCode != step.want {
			t.Fatalf("/api/me: %d, want %d", resp.StatusCode, step.want)
		}
	}

	resp := get(t, base+"/metrics", "")
	b, _ := io.ReadAll(resp.Body)
	m := string(b)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("/metrics: %d %q", resp.StatusCode, ct)
	}
	iss := regexp.QuoteMeta(base)
	jwks := regexp.QuoteMeta(base + "/.well-known/jwks.json")
	for _, want := range []string{
		`# TYPE jwtguard_decisions_total counter`,
		`jwtguard_decisions_total{jwtguard_alg="ES256",jwtguard_cache_hit="false",jwtguard_issuer="` + iss + `",jwtguard_outcome="accepted"} 1`,
		`jwtguard_decisions_total{jwtguard_alg="ES256",jwtguard_cache_hit="true",jwtguard_issuer="` + iss + `",jwtguard_outcome="accepted"} 1`,
		`jwtguard_decisions_total{error_type="expired",jwtguard_alg="ES256",jwtguard_cache_hit="false",jwtguard_issuer="` + iss + `",jwtguard_outcome="refused"} 1`,
		`jwtguard_decisions_total{error_type="audience",jwtguard_alg="ES256",jwtguard_cache_hit="false",jwtguard_issuer="` + iss + `",jwtguard_outcome="refused"} 1`,
		`jwtguard_decisions_total{error_type="no_token",jwtguard_alg="",jwtguard_cache_hit="false",jwtguard_issuer="",jwtguard_outcome="refused"} 1`,
		`jwtguard_verified_cache_hits_total 1`,
		`jwtguard_verified_cache_misses_total 1`,
		`jwtguard_verified_cache_entries 1`,
		`# TYPE jwtguard_decision_duration_seconds histogram`,
		`jwtguard_decision_duration_seconds_bucket{jwtguard_cache_hit="false",jwtguard_outcome="refused",le="\+Inf"} 3`,
		`jwtguard_decision_duration_seconds_count{jwtguard_cache_hit="false",jwtguard_outcome="refused"} 3`,
		`jwtguard_decision_duration_seconds_count{jwtguard_cache_hit="false",jwtguard_outcome="accepted"} 1`,
		`jwtguard_decision_duration_seconds_count{jwtguard_cache_hit="true",jwtguard_outcome="accepted"} 1`,
		`jwtguard_decision_duration_seconds_bucket{jwtguard_cache_hit="true",jwtguard_outcome="accepted",le="1e-06"} \d`,
		`jwtguard_decision_duration_seconds_bucket{jwtguard_cache_hit="true",jwtguard_outcome="accepted",le="5"} 1`,
		`jwtguard_key_set_ready{jwtguard_key_source="` + jwks + `"} 1`,
		`jwtguard_key_set_stale{jwtguard_key_source="` + jwks + `"} 0`,
		`jwtguard_key_set_age_seconds{jwtguard_key_source="` + jwks + `"} [0-9.e+-]+`,
		`jwtguard_key_fetches_total{http_response_status_code="200",jwtguard_key_source="` + jwks + `",jwtguard_result="ok"} [1-9]`,
		`jwtguard_key_fetch_duration_seconds_bucket{jwtguard_key_source="` + jwks + `",jwtguard_result="ok",le="0.005"} \d`,
		`jwtguard_key_set_state_changes_total{jwtguard_key_set_state="loaded",jwtguard_key_source="` + jwks + `"} [1-9]`,
	} {
		if !regexp.MustCompile(`(?m)^` + want + `$`).MatchString(m) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if n := strings.Count(m, "jwtguard_decisions_total{"); n != 5 {
		t.Errorf("%d decision series, want 5:\n%s", n, m)
	}
	if strings.Contains(m, "key_fetch_failures") {
		t.Errorf("failures without a failed fetch:\n%s", m)
	}
	for _, secret := range append([]string{User, "sub", "jti"}, secrets(t, valid, expired, otherAudience)...) {
		if strings.Contains(m, secret) {
			t.Errorf("/metrics holds %q:\n%s", secret, m)
		}
	}
	checkExposition(t, m)
}

// TestMetricsReadiness: /healthz serves the redacted status (no key URL),
// and the startup text points at /metrics.
func TestMetricsReadiness(t *testing.T) {
	base, out := startDemo(t)
	// A request with a token waits for the keys, so the guard is ready.
	if resp := get(t, base+"/api/me", minter{base: base}.get(t)); resp.StatusCode != 200 {
		t.Fatalf("/api/me: %d", resp.StatusCode)
	}
	resp := get(t, base+"/healthz", "")
	b, _ := io.ReadAll(resp.Body)
	var st jwtguard.Status
	if err := json.Unmarshal(b, &st); err != nil || resp.StatusCode != 200 || !st.Ready || len(st.KeySources) != 1 || !st.KeySources[0].Ready {
		t.Fatalf("healthz: %d %v %s", resp.StatusCode, err, b)
	}
	if strings.Contains(string(b), "jwks.json") || strings.Contains(string(b), "127.0.0.1") {
		t.Errorf("healthz is not redacted: %s", b)
	}
	if !strings.Contains(out.String(), "curl -s "+base+"/metrics") {
		t.Errorf("the startup text does not mention /metrics:\n%s", out.String())
	}
}

// minter gets tokens from the demo's /token and signs others with the
// demo's key (an expired one, one for another audience).
type minter struct {
	base string
	key  *ecdsa.PrivateKey
}

// startMinting runs the demo with a signing key of the test's own.
func startMinting(t *testing.T) (string, minter) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, ln, io.Discard, WithFleet(Fleet{Issuer: base, SigningKey: key,
			Store: issuer.NewMemoryStore(nil), Revocations: issuer.LocalRevocations(jwtguard.NewRevocationList(nil))}))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return base, minter{base, key}
}

func (m minter) get(t *testing.T) string {
	t.Helper()
	r, err := http.PostForm(m.base+"/token", url.Values{"username": {User}, "password": {Password}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token response: %d %v", r.StatusCode, err)
	}
	return tok.AccessToken
}

func (m minter) mint(t *testing.T, opts ...issuer.Option) string {
	t.Helper()
	iss, err := issuer.New(m.base, append(opts, issuer.WithSigningKey(m.key))...)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := iss.Issue(User, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// secrets returns the tokens, their parts and their jti values.
func secrets(t *testing.T, tokens ...string) []string {
	var out []string
	for _, tok := range tokens {
		parts := strings.Split(tok, ".")
		out = append(out, tok)
		out = append(out, parts...)
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ Jti string }
		if err := json.Unmarshal(payload, &c); err != nil || c.Jti == "" {
			t.Fatalf("payload %s: %v", payload, err)
		}
		out = append(out, c.Jti)
	}
	return out
}

// checkExposition checks every line against the text format's grammar:
// HELP and TYPE before a family's samples, sample names of that family,
// label names valid, and each family once.
func checkExposition(t *testing.T, m string) {
	t.Helper()
	sample := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$`)
	seen := map[string]bool{}
	var family, kind string
	for _, line := range strings.Split(strings.TrimSuffix(m, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			family = strings.Fields(line)[2]
			if seen[family] {
				t.Errorf("family %s twice", family)
			}
			seen[family] = true
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) != 4 || f[2] != family {
				t.Errorf("TYPE line %q out of place", line)
			}
			kind = f[3]
		default:
			s := sample.FindStringSubmatch(line)
			if s == nil {
				t.Errorf("not a sample line: %q", line)
				continue
			}
			name := s[1]
			if kind == "histogram" {
				name = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			}
			if name != family {
				t.Errorf("sample %q in family %s", line, family)
			}
		}
	}
}
