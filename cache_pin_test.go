package jwtguard_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// pinnedByCache sends n distinct valid tokens, each through a real HTTP
// server, inside a ~512 KiB header of the kind the source reads (a Cookie
// header with a padding cookie, or "Authorization: DPoP" + spaces), and
// returns how much heap stays in use once every request is over.
func pinnedByCache(t *testing.T, viaDPoP bool, opts ...jwtguard.Option) uint64 {
	iss := jwtguardtest.NewIssuer(t, "ES256")
	var client *dpopClient
	if viaDPoP {
		client = newDPoPClient(t)
		opts = append(opts, jwtguard.WithDPoP(jwtguard.DPoPOptional))
	} else {
		opts = append(opts, jwtguard.WithExtractors(jwtguard.FromCookie("tok")))
	}
	g := newGuard(t, iss, opts...)
	srv := httptest.NewServer(g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	const n = 40
	toks := make([]string, n)
	for i := range toks {
		c := jwtguardtest.Claims{"aud": audience, "sub": "u" + strconv.Itoa(i)}
		if viaDPoP {
			c["cnf"] = map[string]any{"jkt": client.jkt}
		}
		toks[i] = iss.Sign(c)
	}
	pad := strings.Repeat("a", 512<<10)
	// warm-up request so connection pools etc. exist before the baseline
	_, _ = http.Get(srv.URL)
	before := heapInUse()
	for i, tok := range toks {
		r, _ := http.NewRequest("GET", srv.URL+"/orders", nil)
		if viaDPoP {
			r.Header.Set("Authorization", "DPoP"+strings.Repeat(" ", len(pad))+tok)
			r.Header.Set("DPoP", client.proof(t, "GET", srv.URL+"/orders", tok, time.Now(), nil, nil))
		} else {
			r.Header.Set("Cookie", "pad="+pad+"; tok="+tok)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	http.DefaultClient.CloseIdleConnections()
	after := heapInUse()
	runtime.KeepAlive(g)
	if after < before {
		return 0
	}
	return after - before
}

// TestCacheDoesNotPinCookieHeaders: with WithRawToken, a cached
// entry's Claims keep the token string as the extractor returned it, a
// slice of the whole Cookie header (net/http's cookie values are
// substrings of the header line), although the cache "copies others, so an
// entry never pins a request's larger buffers". 40 tokens in 512 KiB
// Cookie headers keep ~20 MiB alive; the cache's byte budget counts ~1 KiB
// each (10,000 entries could pin ~10 GiB).
func TestCacheDoesNotPinCookieHeaders(t *testing.T) {
	control := pinnedByCache(t, false)
	pinned := pinnedByCache(t, false, jwtguard.WithRawToken())
	t.Logf("heap kept after 40 cached requests with 512 KiB Cookie headers: %d KiB without WithRawToken, %d KiB with", control>>10, pinned>>10)
	if pinned > 4<<20 {
		t.Fatalf("cache with WithRawToken pins %d KiB of request headers (control %d KiB)", pinned>>10, control>>10)
	}
}

// TestCacheDoesNotPinDPoPHeaders: the same through
// "Authorization: DPoP" + 512 KiB of spaces + token (the Bearer path
// clones a token after more than 64 bytes of prefix; the DPoP path does
// not, and WithRawToken keeps the slice).
func TestCacheDoesNotPinDPoPHeaders(t *testing.T) {
	control := pinnedByCache(t, true)
	pinned := pinnedByCache(t, true, jwtguard.WithRawToken())
	t.Logf("heap kept after 40 cached DPoP requests with 512 KiB Authorization headers: %d KiB without WithRawToken, %d KiB with", control>>10, pinned>>10)
	if pinned > 4<<20 {
		t.Fatalf("cache with WithRawToken pins %d KiB of request headers (control %d KiB)", pinned>>10, control>>10)
	}
}
