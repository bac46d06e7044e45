package jwtguard_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestCloseRacesRequestsStartingFetches: requests that find no usable keys
// start fetches while Close waits for the guard's goroutines. Close must
// neither panic (sync.WaitGroup forbids an Add racing a Wait) nor race, and
// once closed the guard starts no fetch. Found by an attack review.
func TestCloseRacesRequestsStartingFetches(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // connection refused: every fetch fails at once
	iss := jwtguardtest.NewIssuer(t, "ES256")
	tok := iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "a"})
	for round := 0; round < 30; round++ {
		clock := jwtguardtest.NewClock(time.Now())
		g, err := jwtguard.New(t.Context(), jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience(audience),
			jwtguard.WithJWKS("http://"+addr+"/jwks"), jwtguard.WithClock(clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		closeWhileRequesting(g, func() {
			clock.Add(time.Hour) // past any backoff: every request may start a fetch
			_, _ = g.Verify(t.Context(), tok)
		})
		st := g.Status().KeySources[0]
		clock.Add(time.Hour)
		if _, err := g.Verify(t.Context(), tok); !errors.Is(err, jwtguard.ErrKeysUnavailable) {
			t.Fatalf("after Close: %v, want ErrKeysUnavailable", err)
		}
		if after := g.Status().KeySources[0]; after.Fetches != st.Fetches {
			t.Fatalf("a closed guard fetched: %d fetches, then %d", st.Fetches, after.Fetches)
		}
	}
}

// closeWhileRequesting closes g while four goroutines make requests,
// once they have made 50, and returns when they have stopped.
func closeWhileRequesting(g *jwtguard.Guard, request func()) {
	var calls atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				request()
				calls.Add(1)
			}
		})
	}
	for calls.Load() < 50 { // Close lands while requests are in flight
		runtime.Gosched()
	}
	g.Close()
	close(stop)
	wg.Wait()
}

// TestCloseRacesResolverCalls: the same with resolver calls, which junk
// iss values start (the issuer is looked up before the signature).
func TestCloseRacesResolverCalls(t *testing.T) {
	iss := jwtguardtest.NewIssuer(t, "ES256")
	var toks []string
	for i := range 5000 {
		toks = append(toks, iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "a", "iss": "https://junk" + itoa(int64(i)) + ".example"}))
	}
	resolve := func(ctx context.Context, issuer string) ([]jwtguard.IssuerOption, error) {
		return nil, errors.New("unknown tenant")
	}
	var n atomic.Int64
	for round := 0; round < 30; round++ {
		g, err := jwtguard.New(t.Context(), jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience(audience),
			jwtguard.WithJWKS(iss.JWKSURL()),
			jwtguard.WithIssuerResolver(resolve, jwtguard.ResolverSettings{LookupsPerSecond: 1e6}))
		if err != nil {
			t.Fatal(err)
		}
		closeWhileRequesting(g, func() { _, _ = g.Verify(t.Context(), toks[n.Add(1)%int64(len(toks))]) })
	}
}
