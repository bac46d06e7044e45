package jwtguard_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// TestOIDCProviderDPoPInterop puts guards in front of an API whose tokens
// come from an authorization server jwtguard did not write (node
// oidc-provider, DPoP on, JWT access tokens) and whose proofs come from a
// client library jwtguard did not write (oauth4webapi), one client per proof
// algorithm (testdata/interop/oidc_dpop.mjs). The guards find the server's
// keys by discovery, on loopback http as the defaults allow.
func TestOIDCProviderDPoPInterop(t *testing.T) {
	t.Parallel()
	node := nodeFor(t, "oidc-provider", "oauth4webapi")

	// The API comes first: its URL is the resource indicator (and so the
	// tokens' aud); the guards come once the fixture has said its issuer.
	// A second origin carries the nonce guard, because oauth4webapi keeps
	// one DPoP nonce per origin.
	mux, nonceMux := http.NewServeMux(), http.NewServeMux()
	api, nonceAPI := httptest.NewServer(mux), httptest.NewServer(nonceMux)
	t.Cleanup(api.Close)
	t.Cleanup(nonceAPI.Close)
	resource := api.URL + "/orders"

	fx := startNodeFixture(t, node, "oidc_dpop.mjs", resource)
	var hello struct {
		Issuer  string
		Clients []struct {
			Alg, Jkt, Token, TokenType, Scope string
			TokenAttempts                     int
		}
	}
	fx.read(t, &hello)
	if len(hello.Clients) < 4 {
		t.Fatalf("only %d clients from oidc_dpop.mjs", len(hello.Clients))
	}

	nonceSecret := make([]byte, 32)
	_, _ = rand.Read(nonceSecret)
	newGuard := func(opts ...jwtguard.Option) *jwtguard.Guard {
		t.Helper()
		g, err := jwtguard.New(t.Context(), append([]jwtguard.Option{
			jwtguard.WithIssuerDiscovery(hello.Issuer), jwtguard.WithAudience(resource),
			jwtguard.WithDPoP(jwtguard.DPoPRequired),
		}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(g.Close)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := g.WaitReady(ctx); err != nil {
			t.Fatalf("keys from oidc-provider's discovery: %v", err)
		}
		return g
	}
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "%s %s %s %v", c.Subject(), c.KeyThumbprint(), c.Header().Typ, c.HasScope("orders:read"))
	})
	mux.Handle("/orders", newGuard().Handler(echo))
	mux.Handle("/profile/orders", newGuard(jwtguard.WithAccessTokenProfile()).Handler(echo))
	nonceMux.Handle("/orders", newGuard(jwtguard.WithAccessTokenProfile(),
		jwtguard.WithDPoPNonce(nonceSecret, time.Hour)).Handler(echo))

	// proof asks oauth4webapi for the proof client alg would send with
	// method and url, for its own token or, given, another.
	proof := func(t *testing.T, alg, method, url string, token ...string) string {
		t.Helper()
		var res struct{ Proof, Error string }
		req := map[string]string{"op": "proof", "client": alg, "method": method, "url": url}
		if len(token) > 0 {
			req["token"] = token[0]
		}
		fx.ask(t, req, &res)
		if res.Error != "" || res.Proof == "" {
			t.Fatalf("oauth4webapi proof for %s %s: %q", method, url, res.Error)
		}
		return res.Proof
	}

	for i, c := range hello.Clients {
		other := hello.Clients[(i+1)%len(hello.Clients)]
		t.Run(c.Alg, func(t *testing.T) {
			// oidc-provider required its own nonce at the token endpoint:
			// oauth4webapi's first token request met use_dpop_nonce.
			if !strings.EqualFold(c.TokenType, "DPoP") || c.Scope != "orders:read" || c.TokenAttempts != 2 {
				t.Errorf("token response: type %q, scope %q, %d attempts", c.TokenType, c.Scope, c.TokenAttempts)
			}
			want := "orders-client " + c.Jkt + " at+jwt true"
			for _, path := range []string{"/orders", "/profile/orders"} {
				url := api.URL + path
				t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
					good := proof(t, c.Alg, "GET", url)
					sendExpect(t, "good proof", "GET", url, "DPoP "+c.Token, good, 200, want)
					sendExpect(t, "replayed proof", "GET", url, "DPoP "+c.Token, good, 401, `error="invalid_dpop_proof"`)
					sendExpect(t, "token as Bearer", "GET", url, "Bearer "+c.Token, "", 401, `error="invalid_token"`)
					sendExpect(t, "token without proof", "GET", url, "DPoP "+c.Token, "", 401, `error="invalid_dpop_proof"`)
					sendExpect(t, "proof for another URL", "GET", url,
						"DPoP "+c.Token, proof(t, c.Alg, "GET", api.URL+"/other"), 401, `error="invalid_dpop_proof"`)
					sendExpect(t, "proof for another method", "GET", url,
						"DPoP "+c.Token, proof(t, c.Alg, "POST", url), 401, `error="invalid_dpop_proof"`)
					sendExpect(t, "proof for another origin", "GET", url,
						"DPoP "+c.Token, proof(t, c.Alg, "GET", nonceAPI.URL+path), 401, `error="invalid_dpop_proof"`)
					sendExpect(t, "another client's key (its proof for this token)", "GET", url,
						"DPoP "+c.Token, proof(t, other.Alg, "GET", url, c.Token), 401, `error="invalid_dpop_proof"`)
					sendExpect(t, "another client's token and proof", "GET", url,
						"DPoP "+c.Token, proof(t, other.Alg, "GET", url), 401, `error="invalid_dpop_proof"`)
					sendExpect(t, "POST", "POST", url, "DPoP "+c.Token, proof(t, c.Alg, "POST", url), 200, want)
					// oauth4webapi signs htu without the query; the guard ignores the request's.
					sendExpect(t, "query", "GET", url+"?page=2", "DPoP "+c.Token, proof(t, c.Alg, "GET", url+"?page=2"), 200, want)
				})
			}

			// oauth4webapi's own requests: none needs a nonce at the plain
			// guard; the nonce guard's first answer is use_dpop_nonce with a
			// DPoP-Nonce, and oauth4webapi's retry carries it.
			call := func(url string) (res struct {
				Status, Attempts   int
				Body, Nonce, Error string
			}) {
				t.Helper()
				fx.ask(t, map[string]string{"op": "call", "client": c.Alg, "method": "GET", "url": url}, &res)
				if res.Error != "" {
					t.Fatalf("oauth4webapi request to %s: %s", url, res.Error)
				}
				return res
			}
			if res := call(resource); res.Status != 200 || res.Attempts != 1 || res.Body != want || res.Nonce != "" {
				t.Errorf("oauth4webapi at the guard: %+v", res)
			}
			first := call(nonceAPI.URL + "/orders")
			if first.Status != 200 || first.Attempts != 2 || first.Body != want || first.Nonce == "" {
				t.Errorf("oauth4webapi at the nonce guard: %+v", first)
			}
			// The 200 offered the nonce again: no second round trip.
			if res := call(nonceAPI.URL + "/orders"); res.Status != 200 || res.Attempts != 1 || res.Nonce == "" {
				t.Errorf("oauth4webapi at the nonce guard, its nonce cached: %+v", res)
			}
		})
	}
}

// sendExpect sends a request to a guarded server and checks the status
// and, for a 200, the body or, for a refusal, WWW-Authenticate.
func sendExpect(t *testing.T, what, method, url, authorization, proof string, status int, want string) {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", authorization)
	if proof != "" {
		r.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	got := string(body)
	if status != 200 {
		got = resp.Header.Get("WWW-Authenticate")
	}
	if resp.StatusCode != status || !strings.Contains(got, want) {
		t.Errorf("%s: %d %q (body %s), want %d with %q", what, resp.StatusCode, got, body, status, want)
	}
}

// nodeFixture is a running fixture script of testdata/interop that speaks
// one JSON document a line: it writes on its own first, then answers each
// line it is sent. It stops when the test ends (its stdin closes).
type nodeFixture struct {
	name   string
	stdin  io.WriteCloser
	lines  chan []byte
	stderr *lockedBuffer
}

func startNodeFixture(t *testing.T, node, script string, args ...string) *nodeFixture {
	t.Helper()
	cmd := exec.Command(node, append([]string{"testdata/interop/" + script}, args...)...)
	fx := &nodeFixture{name: script, lines: make(chan []byte), stderr: &lockedBuffer{}}
	cmd.Stderr = fx.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if fx.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(fx.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case fx.lines <- bytes.Clone(sc.Bytes()):
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		_ = fx.stdin.Close()
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return fx
}

// read decodes the fixture's next line into v, waiting at most 60 s (the
// first line comes after key generation and token requests).
func (fx *nodeFixture) read(t *testing.T, v any) {
	t.Helper()
	select {
	case line, ok := <-fx.lines:
		if !ok {
			t.Fatalf("%s ended:\n%s", fx.name, fx.stderr.String())
		}
		if err := json.Unmarshal(line, v); err != nil {
			t.Fatalf("%s: %v in %s", fx.name, err, line)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: no answer in 60 s:\n%s", fx.name, fx.stderr.String())
	}
}

// ask sends req and decodes the answer into res. Subtests that ask share
// the fixture one at a time: they do not run in parallel.
func (fx *nodeFixture) ask(t *testing.T, req, res any) {
	t.Helper()
	b, _ := json.Marshal(req)
	if _, err := fx.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("%s: %v:\n%s", fx.name, err, fx.stderr.String())
	}
	fx.read(t, res)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
