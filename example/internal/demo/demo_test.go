package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// TestDemo runs the demo on a loopback port and walks the flow it prints.
func TestDemo(t *testing.T) {
	base, out := startDemo(t)

	resp := get(t, base+"/api/me", "")
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if r, err := http.PostForm(base+"/token", url.Values{"username": {"alice"}, "password": {"wrong"}}); err != nil || r.StatusCode != 400 {
		t.Fatalf("wrong password: %v %v", r, err)
	}
	r, err := http.PostForm(base+"/token", url.Values{"username": {"alice"}, "password": {"wonderland"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token response: %v", err)
	}
	r.Body.Close()
	resp = get(t, base+"/api/me", tok.AccessToken)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"sub":"alice"`)) {
		t.Fatalf("with token: %d %s", resp.StatusCode, body)
	}
	if resp := get(t, base+"/api/orders", tok.AccessToken); resp.StatusCode != 200 {
		t.Fatalf("orders: %d", resp.StatusCode)
	}
	if !strings.Contains(out.String(), "curl -i "+base+"/api/me") {
		t.Fatalf("demo did not print its curl commands:\n%s", out.String())
	}
}

func get(t *testing.T, u, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
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

// startDemo runs the demo on a loopback port until the test ends, and
// returns its base URL and what it prints.
func startDemo(t *testing.T) (base string, out *lockedBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	out = new(lockedBuffer)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, ln, out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String(), out
}
