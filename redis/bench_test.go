package jwtguardredis_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
	"github.com/jwtguard/jwtguard/redis/redistest"
)

// BenchmarkGuardCacheHit: a client reusing its token (the guard's
// verified-token cache), with no revocation check, an in-memory
// RevocationList, and the Redis Mirror. The difference is what the
// revocation check adds to every request.
func BenchmarkGuardCacheHit(b *testing.B) {
	srv := redistest.Start(b)
	f := newFleet(b)
	iss, err := issuer.New(issuerURL, issuer.WithAudience("api"), issuer.WithSigningKey(f.key))
	if err != nil {
		b.Fatal(err)
	}
	jwks, _ := iss.JWKS()
	token, _, err := iss.Issue("alice", map[string]any{"scope": "orders:read"})
	if err != nil {
		b.Fatal(err)
	}
	list := jwtguard.NewRevocationList(nil)
	list.RevokeSession(issuerURL, "another-session", time.Now().Add(time.Hour))
	mirror := startMirror(b, srv.Client())
	if err := mirror.RevokeSession(context.Background(), issuerURL, "another-session", time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []jwtguard.Option
	}{
		{"none", nil},
		{"RevocationList", []jwtguard.Option{jwtguard.WithRevocations(list)}},
		{"Mirror", []jwtguard.Option{jwtguard.WithRevocations(mirror)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			g, err := jwtguard.New(context.Background(), append([]jwtguard.Option{jwtguard.WithJWKSet(jwks),
				jwtguard.WithIssuer(issuerURL), jwtguard.WithAudience("api")}, tc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+token)
			if _, err := g.Authenticate(r); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMirrorRevoked is the Mirror's check alone, on claims already
// found in good standing (the guard's cache-hit case).
func BenchmarkMirrorRevoked(b *testing.B) {
	srv := redistest.Start(b)
	m := startMirror(b, srv.Client())
	c, err := jwtguard.ClaimsFromJSON([]byte(`{"iss":"https://login.example","sub":"alice","sid":"s","jti":"j"}`))
	if err != nil {
		b.Fatal(err)
	}
	_ = m.Revoked(c)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Revoked(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRotation: refresh-token rotations on Redis over loopback,
// through Sessions' refresh handler (store: four round trips; plus signing
// the new access token), one client after another. Reports rotations per
// second and the latency distribution.
func BenchmarkRotation(b *testing.B) {
	srv := redistest.Start(b)
	f := newFleet(b)
	f.clock = nil
	in := f.instance(b, "bench", srv.Client(), instanceConfig{wait: true})
	cookies := in.login(b, "alice")
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if w := in.do(b, "POST", "/auth/refresh", cookies, nil); w.Code != 204 {
			b.Fatalf("refresh: %d %s", w.Code, w.Body)
		}
		lat = append(lat, time.Since(start))
	}
	report(b, lat, "µs", time.Microsecond)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
}

// BenchmarkRotationParallel: rotations of many sessions at once
// (GOMAXPROCS × 4 clients), for throughput.
func BenchmarkRotationParallel(b *testing.B) {
	srv := redistest.Start(b)
	f := newFleet(b)
	f.clock = nil
	in := f.instance(b, "bench", srv.Client(), instanceConfig{wait: true})
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		cookies := in.login(b, "alice")
		for pb.Next() {
			if w := in.do(b, "POST", "/auth/refresh", cookies, nil); w.Code != 204 {
				b.Errorf("refresh: %d", w.Code)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
}

// BenchmarkPropagation: a revocation on instance A (Mirror.RevokeToken)
// until instance B's Revoked refuses the token, polled without pause
// (every 10µs: a spinning loop would take a processor from the subscriber
// and from Redis, on two cores).
func BenchmarkPropagation(b *testing.B) {
	srv := redistest.Start(b)
	a := startMirror(b, srv.Client())
	bm := startMirror(b, srv.Client())
	ctx := context.Background()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		jti := "j" + strconv.Itoa(i)
		c, err := jwtguard.ClaimsFromJSON([]byte(`{"iss":"https://login.example","sub":"alice","jti":"` + jti + `"}`))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := a.RevokeToken(ctx, "https://login.example", jti, time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		for !isRevoked(bm.Revoked(c)) {
			if time.Since(start) > 5*time.Second {
				b.Fatal("not propagated within 5 s")
			}
			time.Sleep(10 * time.Microsecond) // leave the processors to the subscriber and Redis
		}
		lat = append(lat, time.Since(start))
	}
	report(b, lat, "µs", time.Microsecond)
}

// report adds p50, p99 and max of lat to b's metrics.
func report(b *testing.B, lat []time.Duration, unit string, scale time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / float64(scale)
	}
	b.ReportMetric(at(0.50), "p50-"+unit)
	b.ReportMetric(at(0.99), "p99-"+unit)
	b.ReportMetric(float64(lat[len(lat)-1])/float64(scale), "max-"+unit)
}
