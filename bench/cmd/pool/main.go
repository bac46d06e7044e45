// Command pool signs the token pools that the benchmarks and cmd/e2e read
// (bench.LoadOrCreate). An RSA signature takes most of a millisecond, so
// signing tens of thousands of RS256 tokens in every round would take
// longer than measuring them: they are signed once and kept between runs
// until their tokens are within an hour of expiring (12 hours). A pool
// holds enough tokens for a never-seen benchmark of -benchtime on a machine
// whose floor is floorNs; past them, the benchmark signs more with its
// timer stopped. HS256 gets a key only: its tokens are signed in batches
// during the run, which costs little.
package main

import (
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/jwtguard/jwtguard/bench"
)

// floorNs is a fast machine's floor per alg (ours measures 30, 58 and 43 µs).
var floorNs = map[string]float64{"RS256": 25_000, "ES256": 35_000, "EdDSA": 25_000}

func main() {
	dir := flag.String("dir", "results/pool", "where the pools are written")
	benchtime := flag.Duration("benchtime", 500*time.Millisecond, "the -benchtime of the never-seen benchmarks")
	flag.Parse()
	for _, alg := range bench.Algorithms {
		n := 0
		if ns, ok := floorNs[alg]; ok {
			n = max(int(float64(*benchtime)/ns*1.2)+1000, 20_000) // cmd/e2e cycles through 20,000 RS256 tokens; run.sh profiles 10,000
		}
		start := time.Now()
		p, err := bench.LoadOrCreate(*dir, alg, n)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d tokens in %s (%v)\n", alg, p.Len(), bench.PoolPath(*dir, alg), time.Since(start).Round(time.Millisecond))
	}
}
