// Command e2e measures a protected endpoint on a real loopback server with
// wrk, against the same endpoint unprotected, and the memory a full
// verified-token cache holds. It prints Markdown for BENCHMARKS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func main() {
	duration := flag.Duration("d", 5*time.Second, "wrk duration per endpoint")
	entries := flag.Int("cache", 10000, "tokens to fill the verified-token cache with")
	flag.Parse()
	ctx := context.Background()

	idp, err := jwtguardtest.StartIssuer("RS256")
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	const aud = "e2e"
	newGuard := func(extra ...jwtguard.Option) *jwtguard.Guard {
		g, err := jwtguard.New(ctx, append([]jwtguard.Option{jwtguard.WithJWKS(idp.JWKSURL()), jwtguard.WithIssuer(idp.URL),
			jwtguard.WithAudience(aud), jwtguard.WithKeysAtStart()}, extra...)...)
		if err != nil {
			log.Fatal(err)
		}
		return g
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) })
	mux := http.NewServeMux()
	mux.Handle("/open", hello)
	mux.Handle("/protected", newGuard().Handler(hello))
	mux.Handle("/protected-nocache", newGuard(jwtguard.WithVerifiedTokenCache(0)).Handler(hello))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = http.Serve(ln, mux) }()
	base := "http://" + ln.Addr().String()
	token := idp.Sign(jwtguardtest.Claims{"sub": "alice", "aud": aud, "exp": time.Now().Add(time.Hour).Unix()})

	fmt.Printf("### End to end on loopback (wrk, RS256, %v per endpoint)\n\n", *duration)
	if _, err := exec.LookPath("wrk"); err != nil {
		fmt.Printf("wrk is not installed (Debian package `wrk`): skipped.\n\n")
	} else {
		fmt.Printf("| endpoint | requests/s | × unprotected |\n| --- | ---: | ---: |\n")
		var open float64
		for _, path := range []string{"/open", "/protected", "/protected-nocache"} {
			rps, err := wrk(base+path, token, *duration)
			if err != nil {
				log.Fatal(err)
			}
			if path == "/open" {
				open = rps
			}
			fmt.Printf("| %s | %.0f | %.2f |\n", path, rps, rps/open)
		}
		fmt.Println()
	}

	// Memory held by a full cache: distinct tokens through one guard.
	g := newGuard(jwtguard.WithVerifiedTokenCache(*entries))
	tokens := make([]string, *entries)
	for i := range tokens {
		tokens[i] = idp.Sign(jwtguardtest.Claims{"sub": fmt.Sprintf("user-%d", i), "aud": aud, "scope": "orders:read orders:write"})
	}
	before := heap()
	for _, t := range tokens {
		if _, err := g.Verify(ctx, t); err != nil {
			log.Fatal(err)
		}
	}
	after := heap()
	st := g.Status()
	fmt.Printf("### Memory of a full verified-token cache\n\n")
	fmt.Printf("%d entries (tokens of %d bytes): %.1f MiB of heap, %.0f bytes per entry.\n\n",
		st.CacheSize, len(tokens[0]), float64(after-before)/(1<<20), float64(after-before)/float64(max(st.CacheSize, 1)))
	runtime.KeepAlive(tokens)
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

var rpsLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func wrk(url, token string, d time.Duration) (float64, error) {
	out, err := exec.Command("wrk", "-t1", "-c32", "-d"+strconv.Itoa(int(d.Seconds()))+"s",
		"-H", "Authorization: Bearer "+token, url).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %v: %s", err, out)
	}
	m := rpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("wrk printed no Requests/sec: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
