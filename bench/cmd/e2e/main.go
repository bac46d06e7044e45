// Command e2e measures protected endpoints on a real loopback server with
// wrk, against the same endpoint unprotected, in interleaved rounds, and
// prints Markdown for BENCHMARKS.md. RS256 tokens come from the bench
// pool (cmd/pool); the never-seen endpoints get a different token on every
// request from a wrk Lua script that walks the pool's tokens in order.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/bench"
)

// oneToken numbers the token of the repeated-token endpoints, far from the
// pool's 0, 1, 2, ...
const oneToken = 1 << 30

type endpoint struct {
	path, what string
	rotate     bool // a new token on every request
}

var endpoints = []endpoint{
	{"/open", "unprotected", false},
	{"/protected", "jwtguard defaults, one token (cache hit)", false},
	{"/protected-new", "jwtguard defaults, a different token on each request", true},
	{"/protected-nocache", "jwtguard, cache off, one token", false},
	{"/floor-new", "stdlib floor, a different token on each request", true},
}

func main() {
	duration := flag.Duration("d", 3*time.Second, "wrk duration per endpoint and round")
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	poolDir := flag.String("pool", "results/pool", "token pools (cmd/pool)")
	flag.Parse()
	ctx := context.Background()

	pool, err := bench.LoadOrCreate(*poolDir, "RS256", 20_000) // cycles of 20,000: twice what the cache holds
	if err != nil {
		log.Fatal(err)
	}
	jwks := pool.ServeJWKS()
	defer jwks.Close()
	newGuard := func(extra ...jwtguard.Option) *jwtguard.Guard {
		g, err := jwtguard.New(ctx, append([]jwtguard.Option{jwtguard.WithJWKS(jwks.URL + bench.JWKSPath),
			jwtguard.WithIssuer(bench.Issuer), jwtguard.WithAudience(bench.Audience), jwtguard.WithKeysAtStart()}, extra...)...)
		if err != nil {
			log.Fatal(err)
		}
		return g
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) })
	fresh := newGuard()
	mux := http.NewServeMux()
	mux.Handle("/open", hello)
	mux.Handle("/protected", newGuard().Handler(hello))
	mux.Handle("/protected-new", fresh.Handler(hello))
	mux.Handle("/protected-nocache", newGuard(jwtguard.WithVerifiedTokenCache(0)).Handler(hello))
	mux.Handle("/floor-new", bench.Floor(pool, hello))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = http.Serve(ln, mux) }()
	base := "http://" + ln.Addr().String()
	token := pool.Sign(oneToken)

	fmt.Printf("## Loopback throughput (wrk, RS256)\n\n")
	if _, err := exec.LookPath("wrk"); err != nil {
		fmt.Printf("wrk is not installed (Debian package `wrk`): skipped.\n\n")
		return
	}
	script, err := writeScript(pool)
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(filepath.Dir(script))

	// Where each rotating endpoint's next run starts: after the tokens its
	// last run sent, plus a margin for requests in flight, so that a run does
	// not begin with tokens its guard has just cached.
	next := map[string]int{}
	rps := map[string][]float64{}
	ratio := map[string][]float64{}
	for r := range *rounds {
		got := map[string]float64{}
		for i := range endpoints {
			e := endpoints[(i+r)%len(endpoints)] // a different order each round
			arg := token
			if e.rotate {
				arg = strconv.Itoa(next[e.path])
			}
			v, sent, err := wrk(base+e.path, script, e.rotate, arg, *duration)
			if err != nil {
				log.Fatal(err)
			}
			next[e.path] = (next[e.path] + sent + 1000) % pool.Len()
			got[e.path] = v
			rps[e.path] = append(rps[e.path], v)
		}
		for _, e := range endpoints {
			ratio[e.path] = append(ratio[e.path], got[e.path]/got["/open"])
		}
	}
	st := fresh.Status()
	hitRate := 100 * float64(st.CacheHits) / float64(max(1, st.CacheHits+st.CacheMisses))

	fmt.Printf("wrk -t1 -c32, %v per endpoint and round, %d interleaved rounds (the order turns each round); medians.\n", *duration, *rounds)
	fmt.Printf("wrk and the server share the machine's cores; every endpoint gets its token from the same Lua script.\n")
	fmt.Printf("The never-seen endpoints walk %d distinct tokens in order, each run going on after the last one's tokens, and\n", pool.Len())
	fmt.Printf("wrap around when they run out: a token comes round again only after %d others, and jwtguard's cache holds\n", pool.Len()-1)
	fmt.Printf("10,000 (first in, first out).")
	fmt.Printf(" Its counters on /protected-new over the whole run: %d hits, %d misses (%.2f %% hits).\n\n", st.CacheHits, st.CacheMisses, hitRate)
	fmt.Printf("| endpoint | what | requests/s | × unprotected | range of × over rounds |\n| --- | --- | ---: | ---: | --- |\n")
	for _, e := range endpoints {
		lo, hi := slices.Min(ratio[e.path]), slices.Max(ratio[e.path])
		fmt.Printf("| %s | %s | %.0f | %.2f | %.2f–%.2f |\n", e.path, e.what, median(rps[e.path]), median(ratio[e.path]), lo, hi)
	}
	fmt.Println()
	nf, ff := median(ratio["/protected-new"]), median(ratio["/floor-new"])
	fmt.Printf("Never-seen tokens end to end: jwtguard serves %.2f× the requests of the stdlib floor (%.2f / %.2f of unprotected).\n\n", nf/ff, nf, ff)
}

// writeScript writes the pool's tokens and a wrk script that sends a
// token per request: with the arguments "all <n>", each of them in turn
// from the one after token n; with "one <token>", that token every time. Every endpoint goes through the
// same Lua code, so the load generator costs the same for all of them.
func writeScript(p *bench.Pool) (string, error) {
	dir, err := os.MkdirTemp("", "e2e")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i := range p.Len() {
		b.WriteString(p.Token(i))
		b.WriteByte('\n')
	}
	tokens := filepath.Join(dir, "tokens.txt")
	if err := os.WriteFile(tokens, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	lua := fmt.Sprintf(`local tokens = {}
local i = 0
init = function(args)
  if args[1] == "one" then
    tokens[1] = "Bearer " .. args[2]
  else
    for line in io.lines(%q) do tokens[#tokens + 1] = "Bearer " .. line end
    i = tonumber(args[2]) %% #tokens
  end
end
request = function()
  i = i %% #tokens + 1
  return wrk.format("GET", nil, { ["Authorization"] = tokens[i] })
end
`, tokens)
	script := filepath.Join(dir, "tokens.lua")
	return script, os.WriteFile(script, []byte(lua), 0o600)
}

var (
	rpsLine    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	sentLine   = regexp.MustCompile(`(\d+) requests in`)
	non2xxLine = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
)

// wrk runs wrk against url and returns requests/s and how many requests it
// sent. arg is the start index (rotate) or the one token.
func wrk(url, script string, rotate bool, arg string, d time.Duration) (float64, int, error) {
	mode := "one"
	if rotate {
		mode = "all"
	}
	out, err := exec.Command("wrk", "-t1", "-c32", "-d"+strconv.Itoa(int(d.Seconds()))+"s", "-s", script, url, "--", mode, arg).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("wrk: %v: %s", err, out)
	}
	if m := non2xxLine.FindSubmatch(out); m != nil {
		return 0, 0, fmt.Errorf("wrk %s: %s responses were not 200: %s", url, m[1], out)
	}
	m, n := rpsLine.FindSubmatch(out), sentLine.FindSubmatch(out)
	if m == nil || n == nil {
		return 0, 0, fmt.Errorf("wrk printed no Requests/sec: %s", out)
	}
	rps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, 0, err
	}
	sent, err := strconv.Atoi(string(n[1]))
	return rps, sent, err
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
