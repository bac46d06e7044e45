package main

import (
	"context"
	"io"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/redis/redistest"
)

// TestMetrics: an instance serves its guards' metrics on /metrics in
// Prometheus format, refusals counted by reason and the key set ready.
func TestMetrics(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithCancel(t.Context())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, io.Discard, srv.Client(), "jwtguard-demo") }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + ln.Addr().String()
	eventually(t, 10*time.Second, "healthy", func() bool { return get(t, base+"/healthz", nil).StatusCode == 200 })
	for range 3 {
		if resp := get(t, base+"/api/me", nil); resp.StatusCode != 401 {
			t.Fatalf("no token: %d", resp.StatusCode)
		}
	}
	m := body(get(t, base+"/metrics", nil))
	for _, want := range []string{
		`(?m)^jwtguard_decisions_total\{[^}]*error_type="no_token"[^}]*jwtguard_outcome="refused"[^}]*\} 3$`,
		`(?m)^jwtguard_key_set_ready\{[^}]*jwtguard_key_source="http://127\.0\.0\.1:\d+/\.well-known/jwks\.json"[^}]*\} 1$`,
		`(?m)^jwtguard_key_fetches_total\{[^}]*http_response_status_code="200"[^}]*jwtguard_result="ok"`,
	} {
		if !regexp.MustCompile(want).MatchString(m) {
			t.Errorf("/metrics lacks %s:\n%s", want, m)
		}
	}
}
