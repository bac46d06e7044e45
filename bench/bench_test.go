package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/MicahParks/keyfunc/v3"
	jwtmiddleware "github.com/auth0/go-jwt-middleware/v3"
	"github.com/auth0/go-jwt-middleware/v3/jwks"
	"github.com/auth0/go-jwt-middleware/v3/validator"
	jwtauth "github.com/go-chi/jwtauth/v5"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	jwa2 "github.com/lestrrat-go/jwx/v2/jwa"
	jwt2 "github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwt3 "github.com/lestrrat-go/jwx/v3/jwt"
)

// How the benchmarks are fed.
//
// A never-seen token is one no implementation has verified before in this
// measurement. Every benchmark iteration takes the next token of the alg's
// Pool, and no token repeats within a measurement: index i is used once,
// for i = 0, 1, 2, ... up to however many iterations the benchmark runs.
// Tokens the pool has stored (cmd/pool signs RS256, ES256 and EdDSA pools,
// sized for -benchtime, and keeps them between runs) are read in place;
// past them, tokens are signed in batches of batchSize with the timer
// stopped. HS256 is always signed in batches (cheaply), so the harness does
// not hold hundreds of megabytes of tokens live, which would make the
// garbage collector run less often and hide per-token GC cost (see
// ballastBytes for the heap every benchmark does have). Every
// implementation gets a fresh instance per measurement (for jwtguard: a
// fresh Guard, so an empty cache), and the jwtguard rows check the guard's
// own counters afterwards: a never-seen measurement with a single cache
// hit fails.
const batchSize = 4096

// repeatedIndex numbers the one token of the repeated-token rows, far from
// the never-seen tokens 0, 1, 2, ...
const repeatedIndex = 1 << 30

// fixture is one alg's pool, its JWKS server and the repeated token.
type fixture struct {
	alg   string
	pool  *Pool
	jwks  *httptest.Server
	token string
}

func (f *fixture) jwksURL() string { return f.jwks.URL + JWKSPath }
func (f *fixture) hmac() bool      { return f.pool.HMAC() }

// defaultPoolSize is how many tokens a pool is signed with when run.sh has
// not provided one (BENCH_POOL unset): enough for short runs.
var defaultPoolSize = map[string]int{"RS256": 2000, "ES256": 4000, "EdDSA": 4000, "HS256": 0}

var fixtures struct {
	sync.Mutex
	cur     *fixture
	ballast [][]byte
}

// ballastBytes is a pointer-free allocation the benchmarks keep live, a
// stand-in for the rest of a server's heap. Go collects when the heap has
// grown by its live size (GOGC=100), so in a process whose live heap is a
// few megabytes the cheapest implementations, which keep nothing, would pay
// a collection every few megabytes allocated, while jwtguard's cache (about
// 9 MB) would spare it the same: the HS256 floor measured 1.3 µs without
// the ballast and 0.9 µs with it. With it, every implementation runs at a
// similar collection rate, as they would in one server. The GC does not
// scan it.
const ballastBytes = 32 << 20

// fixtureFor returns alg's fixture. Only one is kept at a time, so the
// pools of other algorithms are not live while one is measured.
func fixtureFor(tb testing.TB, alg string) *fixture {
	fixtures.Lock()
	defer fixtures.Unlock()
	if fixtures.ballast == nil {
		for range ballastBytes / (1 << 20) {
			fixtures.ballast = append(fixtures.ballast, make([]byte, 1<<20))
		}
	}
	if f := fixtures.cur; f != nil {
		if f.alg == alg {
			return f
		}
		f.jwks.Close()
		fixtures.cur = nil
	}
	p, err := LoadOrCreate(os.Getenv("BENCH_POOL"), alg, defaultPoolSize[alg])
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{alg: alg, pool: p, jwks: p.ServeJWKS(), token: p.Sign(repeatedIndex)}
	fixtures.cur = f
	return f
}

// tokens hands out "Bearer <token i>" for a pool, for any i ≥ 0, reading
// stored tokens in place and signing the rest in batches. Access must move
// forward: i may go back at most one batch from the furthest seen.
type tokens struct {
	b         *testing.B // its timer stops while a batch is signed; nil in tests
	p         *Pool
	stored    []string
	cur, prev []string
	curN      int
	signed    int
	sum       uint64 // of touch, so the reads are not optimised away
}

func newTokens(b *testing.B, p *Pool) *tokens {
	return &tokens{b: b, p: p, stored: p.Stored(), curN: -2}
}

// at returns token i, its bytes read once (see touch).
func (t *tokens) at(i int) string {
	s := t.get(i)
	t.sum += touch(s)
	return s
}

// touch reads a word of each cache line of s. A server reads a token off
// the network and copies it into a header string just before the
// middleware sees it, so its bytes are in the CPU cache; a pool's token was
// last touched long ago. Without this, whichever function of an
// implementation reads the token first would pay for fetching it from
// memory and show in profiles as a hotspot it is not (jwtguard's Bearer
// syntax check did, at 8 % of the never-seen RS256 time).
func touch(s string) (sum uint64) {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	for i := 0; i < len(b); i += 64 {
		sum += uint64(b[i])
	}
	return sum + uint64(b[len(b)-1])
}

func (t *tokens) get(i int) string {
	if i < len(t.stored) {
		return t.stored[i]
	}
	n := i / batchSize
	switch n {
	case t.curN:
		return t.cur[i%batchSize]
	case t.curN - 1:
		return t.prev[i%batchSize]
	}
	if t.b != nil {
		t.b.StopTimer()
	}
	t.prev = nil
	if n == t.curN+1 {
		t.prev = t.cur
	}
	t.cur, t.curN = t.p.Batch(n*batchSize, batchSize), n
	t.signed += batchSize
	if t.b != nil {
		t.b.StartTimer()
	}
	return t.cur[i%batchSize]
}

// ok is the protected handler: it only answers 200.
var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// built is one middleware chain around ok; guard is set for jwtguard, so
// the benchmark can read its cache counters.
type built struct {
	h     http.Handler
	guard *jwtguard.Guard
}

// impl builds one middleware chain around ok, fresh for each measurement.
type impl struct {
	name  string
	build func(tb testing.TB, f *fixture) built
}

var (
	floorImpl    = impl{"floor", func(tb testing.TB, f *fixture) built { return built{h: Floor(f.pool, ok)} }}
	jwtguardImpl = impl{"jwtguard", func(tb testing.TB, f *fixture) built { return buildJWTGuard(tb, f, true) }}
	nocacheImpl  = impl{"jwtguard-nocache", func(tb testing.TB, f *fixture) built { return buildJWTGuard(tb, f, false) }}
	peers        = []impl{
		{"golang-jwt+keyfunc", buildGolangJWT},
		{"echo-jwt", buildEchoJWT},
		{"auth0-v3", buildAuth0},
		{"jwx-v3", buildJWX},
		{"chi-jwtauth", buildJWTAuth},
	}
)

// rotated returns impls in an order that turns with BENCH_ROUND, so that
// across interleaved rounds no implementation is always measured first or
// right after the same neighbour.
func rotated(impls []impl) []impl {
	r, _ := strconv.Atoi(os.Getenv("BENCH_ROUND"))
	n := len(impls)
	out := make([]impl, n)
	for i := range impls {
		out[i] = impls[(i+r)%n]
	}
	return out
}

// discardWriter keeps the harness's own cost out of the measurement.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// harness serves one request at a time through a chain; setting the
// Authorization header allocates nothing.
type harness struct {
	h   http.Handler
	req *http.Request
	hdr []string
	w   *discardWriter
}

func newHarness(h http.Handler) *harness {
	req, _ := http.NewRequest(http.MethodGet, "http://api.example/orders", nil)
	x := &harness{h: h, req: req, hdr: make([]string, 1), w: &discardWriter{h: http.Header{}}}
	req.Header["Authorization"] = x.hdr
	return x
}

func (x *harness) serve(bearer string) int {
	x.hdr[0] = bearer
	clear(x.w.h)
	x.w.code = 0
	x.h.ServeHTTP(x.w, x.req)
	return x.w.code
}

// cacheCount reads a guard's verified-token cache counters.
func cacheCount(g *jwtguard.Guard) (hits, misses uint64) {
	if g == nil {
		return 0, 0
	}
	s := g.Status()
	return s.CacheHits, s.CacheMisses
}

// measure runs one chain over the requests next(i) returns, for i = 0, 1,
// ... and reports, for jwtguard, the share of cache hits as hit-%.
func measure(b *testing.B, bl built, next func(i int) string) {
	x := newHarness(bl.h)
	h0, m0 := cacheCount(bl.guard)
	runtime.GC()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if code := x.serve(next(i)); code != http.StatusOK {
			b.Fatalf("request %d: status %d", i, code)
		}
		i++
	}
	if bl.guard != nil {
		h1, m1 := cacheCount(bl.guard)
		hits, misses := h1-h0, m1-m0
		b.ReportMetric(100*float64(hits)/float64(max(1, hits+misses)), "hit-%")
	}
}

// BenchmarkNeverSeen: every request carries a token the implementation has
// not seen before (see "How the benchmarks are fed"). jwtguard runs with
// its defaults, verified-token cache on: every token is verified, then
// inserted (evicting the oldest once 10,000 are held).
func BenchmarkNeverSeen(b *testing.B) {
	for _, alg := range Algorithms {
		for _, im := range rotated(append([]impl{floorImpl, jwtguardImpl}, peers...)) {
			b.Run(alg+"/"+im.name, func(b *testing.B) {
				f := fixtureFor(b, alg)
				bl := im.build(b, f)
				x := newHarness(bl.h)
				if code := x.serve("Bearer " + f.token); code != http.StatusOK { // first use: key fetch, lazy setup
					b.Fatalf("%s rejected a valid token: %d", im.name, code)
				}
				t := newTokens(b, f.pool)
				measure(b, bl, t.at)
				if bl.guard != nil {
					if h, _ := cacheCount(bl.guard); h != 0 {
						b.Fatalf("a never-seen measurement hit the cache %d times", h)
					}
				}
				if t.signed > 0 && len(t.stored) > 0 {
					b.Logf("%s: %d tokens beyond the stored pool of %d were signed during the run (timer stopped)", alg, t.signed, len(t.stored))
				}
			})
		}
	}
}

// interleaveBlock is how many tokens one implementation serves in a row in
// BenchmarkInterleaved before the next takes its turn: about half a
// millisecond of work for the floor, long enough that reading the clock
// costs nothing and a garbage collection's pause is a small part of a turn.
var interleaveBlock = map[string]int{"RS256": 16, "ES256": 16, "EdDSA": 16, "HS256": 256}

// stallFactor: a turn that took this many times an implementation's median
// turn was interrupted (the process descheduled on a shared machine) and
// is left out of its mean; the count is reported as stalled-turns.
const stallFactor = 4

// BenchmarkInterleaved measures never-seen tokens again, with the
// contenders for the goals (the floor, jwtguard's defaults and the two
// fastest peers) taking turns inside one benchmark: a block of new tokens
// goes through each of them in turn (the same tokens, each implementation
// its own instance, the order turning every block), and each turn is timed
// on its own. A noisy second on a shared machine then falls on all of them
// alike, which separate benchmarks seconds apart cannot promise; a turn
// stalled by the scheduler (stallFactor) is left out. The price: they
// share one heap, so a collection that one implementation's garbage starts
// may run during another's turn. One more takes turns: jwtguard-hit, a
// second guard sent the one token it has cached. Metrics: <name>-ns, the
// mean time per request of each; stalled-turns; the benchmark's own ns/op
// is a whole block through all of them.
func BenchmarkInterleaved(b *testing.B) {
	hit := impl{"jwtguard-hit", jwtguardImpl.build}
	contenders := []impl{floorImpl, jwtguardImpl, peers[0], peers[1], hit}
	for _, alg := range Algorithms {
		b.Run(alg, func(b *testing.B) {
			f := fixtureFor(b, alg)
			size := interleaveBlock[alg]
			hs := make([]*harness, len(contenders))
			var guard *jwtguard.Guard
			for c, im := range contenders {
				bl := im.build(b, f)
				hs[c] = newHarness(bl.h)
				if code := hs[c].serve("Bearer " + f.token); code != http.StatusOK {
					b.Fatalf("%s rejected a valid token: %d", im.name, code)
				}
				if bl.guard != nil && im.name == jwtguardImpl.name {
					guard = bl.guard
				}
			}
			h0, _ := cacheCount(guard)
			t := newTokens(b, f.pool)
			turns := make([][]time.Duration, len(contenders))
			block := make([]string, size)
			repeated := slices.Repeat([]string{"Bearer " + f.token}, size)
			blocks := 0
			runtime.GC()
			for b.Loop() {
				for j := range block {
					block[j] = t.at(blocks*size + j)
				}
				for o := range contenders {
					c := (o + blocks) % len(contenders)
					requests := block
					if contenders[c].name == hit.name {
						requests = repeated
					}
					start := time.Now()
					for _, bearer := range requests {
						if code := hs[c].serve(bearer); code != http.StatusOK {
							b.Fatalf("%s: status %d", contenders[c].name, code)
						}
					}
					turns[c] = append(turns[c], time.Since(start))
				}
				blocks++
			}
			stalled := 0
			for c, im := range contenders {
				sorted := slices.Clone(turns[c])
				slices.Sort(sorted)
				limit := stallFactor * sorted[len(sorted)/2]
				var sum time.Duration
				kept := 0
				for _, d := range turns[c] {
					if d > limit {
						stalled++
						continue
					}
					sum += d
					kept++
				}
				b.ReportMetric(float64(sum.Nanoseconds())/float64(kept*size), im.name+"-ns")
			}
			b.ReportMetric(float64(stalled), "stalled-turns")
			if h, _ := cacheCount(guard); h != h0 {
				b.Fatalf("a never-seen measurement hit the cache %d times", h-h0)
			}
		})
	}
}

// BenchmarkRepeated: one token, sent again and again, as BENCHMARKS.md
// measured before. jwtguard-hit is jwtguard's defaults (the token is
// verified once and then served from the cache); jwtguard-nocache turns the
// cache off, so the one token is verified every time.
func BenchmarkRepeated(b *testing.B) {
	hit := impl{"jwtguard-hit", jwtguardImpl.build}
	for _, alg := range Algorithms {
		for _, im := range rotated(append([]impl{floorImpl, hit, nocacheImpl}, peers...)) {
			b.Run(alg+"/"+im.name, func(b *testing.B) {
				f := fixtureFor(b, alg)
				bl := im.build(b, f)
				bearer := "Bearer " + f.token
				if code := newHarness(bl.h).serve(bearer); code != http.StatusOK {
					b.Fatalf("%s rejected a valid token: %d", im.name, code)
				}
				measure(b, bl, func(int) string { return bearer })
			})
		}
	}
}

// Mix: mixHot tokens are live at any time. One request in mixEvery brings
// a new token (a new client, a refresh); the others reuse one of the last
// mixHot tokens, picked pseudo-randomly. So 95 % of requests reuse a token
// (cache hits for jwtguard, whose cache holds 10,000) and 5 % are new;
// peers have no cache and verify every request.
const (
	mixEvery = 20
	mixHot   = 1000
)

// mixToken is the pool index of request i of the mix (i ≥ mixEvery*mixHot).
func mixToken(i int) int {
	n := i / mixEvery
	if i%mixEvery == 0 {
		return n // a new token
	}
	x := uint64(i) * 0x9E3779B97F4A7C15
	x ^= x >> 31
	return n - 1 - int(x%mixHot)
}

// BenchmarkMix: 95 % of requests reuse a live token, 5 % bring a new one.
func BenchmarkMix(b *testing.B) {
	for _, alg := range Algorithms {
		for _, im := range rotated(append([]impl{floorImpl, jwtguardImpl}, peers...)) {
			b.Run(alg+"/"+im.name, func(b *testing.B) {
				f := fixtureFor(b, alg)
				bl := im.build(b, f)
				t := newTokens(b, f.pool)
				x := newHarness(bl.h)
				for i := range 2 * mixHot { // the live tokens, each seen twice (jwtguard caches a token on its second use)
					if code := x.serve(t.at(i % mixHot)); code != http.StatusOK {
						b.Fatalf("%s rejected a valid token: %d", im.name, code)
					}
				}
				start := mixEvery * mixHot
				measure(b, bl, func(i int) string { return t.at(mixToken(start + i)) })
			})
		}
	}
}

// BenchmarkVerifyHit: Guard.Verify alone on a cached token, for the goal of
// no allocation on a hit.
func BenchmarkVerifyHit(b *testing.B) {
	for _, alg := range Algorithms {
		b.Run(alg, func(b *testing.B) {
			f := fixtureFor(b, alg)
			g := buildJWTGuard(b, f, true).guard
			ctx := context.Background()
			if _, err := g.Verify(ctx, f.token); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.Verify(ctx, f.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScale: HS256 tokens, live distinct tokens from 1 to 1,000,000,
// with jwtguard's cache at its default size (10,000) and sized to the
// working set (WithVerifiedTokenCache(live)), at GOMAXPROCS 1 and 2. Each
// request takes a token at random from the live set (in runs of
// scaleRun consecutive tokens, so the harness reads token bytes
// sequentially and not the cache's memory for it): with a cache smaller
// than the live set, the hit rate is about cache/live. HS256 because its
// signature is cheap: the cache's own costs (hashing, the map, eviction,
// the heap it holds) are what the curve shows, and a million tokens sign
// in about a second. Each point builds one guard and warms it (every live
// token once, or the first 20,000 when the cache holds fewer) before
// GOMAXPROCS 1 and then 2 are measured on it. Metrics: hit-% (cache hits
// during the measurement), entries (cached tokens), live-MB (heap after
// the run, after a GC: the cache, the live tokens, everything), cache-MB
// (what the guard added: heap after minus heap before it was made) and
// B/entry (cache-MB per cached token).
func BenchmarkScale(b *testing.B) {
	type point struct {
		live  int
		sized bool
	}
	points := []point{{1, false}, {100, false}, {10_000, false}, {100_000, false}, {100_000, true}, {1_000_000, false}, {1_000_000, true}}
	f := fixtureFor(b, "HS256")
	var set []string
	for _, pt := range points {
		if len(set) != pt.live {
			set = nil
			runtime.GC()
			set = f.pool.Batch(0, pt.live)
		}
		cache := "default"
		if pt.sized {
			cache = "sized"
		}
		st := newScaleState(b, f, set, pt.sized)
		for _, procs := range []int{1, 2} {
			b.Run(fmt.Sprintf("live=%d/cache=%s/procs=%d", pt.live, cache, procs), func(b *testing.B) {
				st.measure(b, procs)
			})
		}
		st.g.Close()
		st.cancel()
	}
}

// scaleRun is how many consecutive live tokens a request stream takes
// before it jumps to a random place in the live set.
const scaleRun = 64

// scaleState is one warmed guard of the scale curve, measured at each
// GOMAXPROCS (and, by RunParallel's ramp-up, several times at each).
type scaleState struct {
	g       *jwtguard.Guard
	cancel  context.CancelFunc
	h       http.Handler
	set     []string
	before  runtime.MemStats
	seed    atomic.Uint64
	touched atomic.Uint64 // of touch, so the reads are not optimised away
}

func newScaleState(b *testing.B, f *fixture, set []string, sized bool) *scaleState {
	st := &scaleState{set: set}
	live := len(set)
	runtime.GC()
	runtime.ReadMemStats(&st.before)
	var ctx context.Context
	ctx, st.cancel = context.WithCancel(context.Background())
	opts := []jwtguard.Option{jwtguard.WithIssuer(Issuer), jwtguard.WithAudience(Audience), jwtguard.WithHMACSecret(f.pool.Secret())}
	if sized {
		opts = append(opts, jwtguard.WithVerifiedTokenCache(live))
	}
	g, err := jwtguard.New(ctx, opts...)
	if err != nil {
		b.Fatal(err)
	}
	st.g, st.h = g, g.Handler(ok)
	warm := live
	if !sized && live > 20_000 {
		warm = 20_000
	}
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 2 {
		wg.Go(func() {
			x := newHarness(st.h)
			for i := w; i < 2*warm; i += 2 { // each token twice: jwtguard caches a token on its second use
				if code := x.serve(set[i%warm]); code != http.StatusOK {
					failed.Store(int64(code))
					return
				}
			}
		})
	}
	wg.Wait()
	if code := failed.Load(); code != 0 {
		b.Fatalf("warm-up: status %d", code)
	}
	return st
}

func (st *scaleState) measure(b *testing.B, procs int) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	live := len(st.set)
	h0, m0 := cacheCount(st.g)
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		x := newHarness(st.h)
		rng := rand.New(rand.NewPCG(st.seed.Add(1), 0x5eed))
		i, left := 0, 0
		var sum uint64
		defer func() { st.touched.Add(sum) }()
		for pb.Next() {
			if left == 0 {
				i, left = rng.IntN(live), scaleRun
			}
			if i >= live {
				i = 0
			}
			sum += touch(st.set[i])
			if code := x.serve(st.set[i]); code != http.StatusOK {
				b.Errorf("status %d", code)
				return
			}
			i++
			left--
		}
	})
	b.StopTimer()
	h1, m1 := cacheCount(st.g)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	hits, misses := h1-h0, m1-m0
	entries := st.g.Status().CacheSize
	grew := float64(after.HeapAlloc) - float64(st.before.HeapAlloc)
	b.ReportMetric(100*float64(hits)/float64(max(1, hits+misses)), "hit-%")
	b.ReportMetric(float64(entries), "entries")
	b.ReportMetric(float64(after.HeapAlloc)/(1<<20), "live-MB")
	b.ReportMetric(grew/(1<<20), "cache-MB")
	b.ReportMetric(grew/float64(max(1, entries)), "B/entry")
}

// TestEveryImplementationAccepts keeps the harness honest: each chain
// accepts two distinct pool tokens and the repeated token, and refuses a
// tampered one.
func TestEveryImplementationAccepts(t *testing.T) {
	all := append([]impl{floorImpl, jwtguardImpl, nocacheImpl}, peers...)
	for _, alg := range Algorithms {
		p, err := NewPool(alg)
		if err != nil {
			t.Fatal(err)
		}
		p.Grow(2)
		f := &fixture{alg: alg, pool: p, jwks: p.ServeJWKS(), token: p.Sign(repeatedIndex)}
		t.Cleanup(f.jwks.Close)
		tampered := f.token[:len(f.token)-6] + "AAAAAA"
		for _, im := range all {
			x := newHarness(im.build(t, f).h)
			for _, tc := range []struct {
				token string
				want  int
			}{{p.Token(0), 200}, {p.Token(1), 200}, {f.token, 200}, {tampered, 401}} {
				if code := x.serve("Bearer " + tc.token); (code == 200) != (tc.want == 200) {
					t.Errorf("%s/%s: status %d, want %d", alg, im.name, code, tc.want)
				}
			}
		}
	}
}

// TestPool: tokens are distinct, stored tokens survive Save and Load, and
// (but for ES256, whose signatures are randomised) signing token i again
// gives the stored bytes.
func TestPool(t *testing.T) {
	dir := t.TempDir()
	for _, alg := range Algorithms {
		p, err := LoadOrCreate(dir, alg, 3)
		if err != nil {
			t.Fatal(err)
		}
		q, err := LoadPool(PoolPath(dir, alg))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Stored(), q.Stored()) || q.Len() != 3 {
			t.Fatalf("%s: loaded %d tokens, not the saved 3", alg, q.Len())
		}
		if p.Token(0) == p.Token(1) || p.Token(1) == p.Token(2) {
			t.Errorf("%s: repeated tokens", alg)
		}
		tk := newTokens(nil, q)
		if alg != "ES256" {
			if got := q.Sign(1); got != p.Token(1) {
				t.Errorf("%s: token 1 signed again differs", alg)
			}
			if got := tk.at(batchSize + 5); got != "Bearer "+q.Sign(batchSize+5) {
				t.Errorf("%s: a batch token differs from the same token signed alone", alg)
			}
		}
		if !strings.HasPrefix(tk.at(2), "Bearer ") {
			t.Errorf("%s: %q", alg, tk.at(2))
		}
	}
}

func buildJWTGuard(tb testing.TB, f *fixture, cache bool, extra ...jwtguard.Option) built {
	ctx, cancel := context.WithCancel(context.Background())
	opts := []jwtguard.Option{jwtguard.WithIssuer(Issuer), jwtguard.WithAudience(Audience)}
	if f.hmac() {
		opts = append(opts, jwtguard.WithHMACSecret(f.pool.Secret()))
	} else {
		opts = append(opts, jwtguard.WithJWKS(f.jwksURL()), jwtguard.WithKeysAtStart())
	}
	if !cache {
		opts = append(opts, jwtguard.WithVerifiedTokenCache(0))
	}
	g, err := jwtguard.New(ctx, append(opts, extra...)...)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { g.Close(); cancel() })
	return built{h: g.Handler(ok), guard: g}
}

func golangJWTKeyfunc(tb testing.TB, f *fixture) jwt.Keyfunc {
	if f.hmac() {
		secret := f.pool.Secret()
		return func(*jwt.Token) (any, error) { return secret, nil }
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	k, err := keyfunc.NewDefaultCtx(ctx, []string{f.jwksURL()})
	if err != nil {
		tb.Fatal(err)
	}
	return k.Keyfunc
}

// buildGolangJWT is the common hand-written middleware over golang-jwt v5
// and MicahParks/keyfunc.
func buildGolangJWT(tb testing.TB, f *fixture) built {
	kf := golangJWTKeyfunc(tb, f)
	parser := jwt.NewParser(jwt.WithValidMethods([]string{f.alg}), jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience), jwt.WithExpirationRequired())
	return built{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !found {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, err := parser.Parse(token, kf); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ok.ServeHTTP(w, r)
	})}
}

func buildEchoJWT(tb testing.TB, f *fixture) built {
	e := echo.New()
	kf := golangJWTKeyfunc(tb, f)
	e.Use(echojwt.WithConfig(echojwt.Config{
		KeyFunc: kf,
		ParseTokenFunc: func(c echo.Context, auth string) (any, error) {
			return jwt.Parse(auth, kf, jwt.WithValidMethods([]string{f.alg}), jwt.WithIssuer(Issuer),
				jwt.WithAudience(Audience), jwt.WithExpirationRequired())
		},
	}))
	e.GET("/orders", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	return built{h: e}
}

func buildAuth0(tb testing.TB, f *fixture) built {
	var keyFunc func(context.Context) (any, error)
	if f.hmac() {
		secret := f.pool.Secret()
		keyFunc = func(context.Context) (any, error) { return secret, nil }
	} else {
		issuerURL, _ := url.Parse(Issuer)
		jwksURL, _ := url.Parse(f.jwksURL())
		p, err := jwks.NewCachingProvider(jwks.WithIssuerURL(issuerURL), jwks.WithCustomJWKSURI(jwksURL), jwks.WithCacheTTL(time.Hour))
		if err != nil {
			tb.Fatal(err)
		}
		keyFunc = p.KeyFunc
	}
	v, err := validator.New(validator.WithKeyFunc(keyFunc), validator.WithAlgorithm(validator.SignatureAlgorithm(f.alg)),
		validator.WithIssuer(Issuer), validator.WithAudience(Audience))
	if err != nil {
		tb.Fatal(err)
	}
	m, err := jwtmiddleware.New(jwtmiddleware.WithValidator(v))
	if err != nil {
		tb.Fatal(err)
	}
	return built{h: m.CheckJWT(ok)}
}

// buildJWX uses jwx v3 directly, as jwtguard's own dependency could be used.
func buildJWX(tb testing.TB, f *fixture) built {
	var keyOpt jwt3.ParseOption
	if f.hmac() {
		key, err := jwk.Import(f.pool.Secret())
		if err != nil {
			tb.Fatal(err)
		}
		_ = key.Set(jwk.AlgorithmKey, f.alg)
		_ = key.Set(jwk.KeyIDKey, f.pool.KID)
		set := jwk.NewSet()
		_ = set.AddKey(key)
		keyOpt = jwt3.WithKeySet(set)
	} else {
		set, err := jwk.Fetch(context.Background(), f.jwksURL())
		if err != nil {
			tb.Fatal(err)
		}
		keyOpt = jwt3.WithKeySet(set)
	}
	return built{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !found {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, err := jwt3.ParseString(token, keyOpt, jwt3.WithIssuer(Issuer), jwt3.WithAudience(Audience),
			jwt3.WithRequiredClaim("exp")); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ok.ServeHTTP(w, r)
	})}
}

// buildJWTAuth: go-chi/jwtauth has no JWKS support, so it gets the key directly.
func buildJWTAuth(tb testing.TB, f *fixture) built {
	alg := string(jwa2.SignatureAlgorithm(f.alg))
	opts := []jwt2.ValidateOption{jwt2.WithIssuer(Issuer), jwt2.WithAudience(Audience), jwt2.WithRequiredClaim("exp")}
	var ja *jwtauth.JWTAuth
	if f.hmac() {
		ja = jwtauth.New(alg, f.pool.Secret(), nil, opts...)
	} else {
		ja = jwtauth.New(alg, nil, f.pool.PublicKey(), opts...)
	}
	return built{h: jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(ok))}
}
