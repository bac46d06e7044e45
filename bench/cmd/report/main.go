// Command report turns `go test -bench` output of BenchmarkMiddleware into
// the tables of BENCHMARKS.md: medians per algorithm and implementation,
// with ratios to the crypto floor and to the fastest peer, all from one run.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strconv"
	"strings"
)

type sample struct{ ns, bytes, allocs float64 }

func main() {
	in := flag.String("in", "", "benchmark output file")
	flag.Parse()
	f, err := os.Open(*in)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	samples, order := parse(f)
	write(os.Stdout, samples, order)
}

// parse reads lines like
// BenchmarkMiddleware/RS256/jwtguard-hit-2  1000  1271 ns/op  368 B/op  2 allocs/op
func parse(r io.Reader) (map[[2]string][]sample, [][2]string) {
	out := map[[2]string][]sample{}
	var order [][2]string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "BenchmarkMiddleware/") {
			continue
		}
		name := strings.TrimPrefix(fields[0], "BenchmarkMiddleware/")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		alg, impl, ok := strings.Cut(name, "/")
		if !ok {
			continue
		}
		var s sample
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			switch fields[i+1] {
			case "ns/op":
				s.ns = v
			case "B/op":
				s.bytes = v
			case "allocs/op":
				s.allocs = v
			}
		}
		key := [2]string{alg, impl}
		if _, seen := out[key]; !seen {
			order = append(order, key)
		}
		out[key] = append(out[key], s)
	}
	return out, order
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

func med(ss []sample, get func(sample) float64) float64 {
	xs := make([]float64, len(ss))
	for i, s := range ss {
		xs[i] = get(s)
	}
	return median(xs)
}

func isPeer(impl string) bool { return impl != "floor" && !strings.HasPrefix(impl, "jwtguard") }

func write(w io.Writer, samples map[[2]string][]sample, order [][2]string) {
	var algs []string
	for _, k := range order {
		if !slices.Contains(algs, k[0]) {
			algs = append(algs, k[0])
		}
	}
	type goal struct {
		alg                    string
		hitVsPeer, missVsFloor float64
		fastestPeer            string
		missAheadOfPeers       bool
	}
	var goals []goal
	for _, alg := range algs {
		ns := func(impl string) float64 {
			return med(samples[[2]string{alg, impl}], func(s sample) float64 { return s.ns })
		}
		floor := ns("floor")
		fastest, fastestName := 0.0, ""
		for _, k := range order {
			if k[0] == alg && isPeer(k[1]) {
				if v := ns(k[1]); fastestName == "" || v < fastest {
					fastest, fastestName = v, k[1]
				}
			}
		}
		fmt.Fprintf(w, "### %s\n\n", alg)
		fmt.Fprintf(w, "| implementation | ns/op (median) | B/op | allocs/op | × floor | × fastest peer (%s) |\n", fastestName)
		fmt.Fprintf(w, "| --- | ---: | ---: | ---: | ---: | ---: |\n")
		for _, k := range order {
			if k[0] != alg {
				continue
			}
			ss := samples[k]
			v := ns(k[1])
			fmt.Fprintf(w, "| %s | %.0f | %.0f | %.0f | %.2f | %.2f |\n", k[1], v,
				med(ss, func(s sample) float64 { return s.bytes }), med(ss, func(s sample) float64 { return s.allocs }),
				v/floor, v/fastest)
		}
		fmt.Fprintln(w)
		miss := ns("jwtguard-miss")
		g := goal{alg: alg, hitVsPeer: fastest / ns("jwtguard-hit"), missVsFloor: miss / floor, fastestPeer: fastestName, missAheadOfPeers: miss < fastest}
		goals = append(goals, g)
	}
	fmt.Fprintf(w, "### Goals\n\n| alg | cache hit vs fastest peer (goal ≥ 20×) | cache miss vs floor (goal ≤ 1.15×) | miss ahead of every peer |\n| --- | ---: | ---: | --- |\n")
	for _, g := range goals {
		mark := func(okay bool) string {
			if okay {
				return "met"
			}
			return "**missed**"
		}
		fmt.Fprintf(w, "| %s | %.1f× (%s) | %.3f× (%s) | %v (fastest peer: %s) |\n", g.alg,
			g.hitVsPeer, mark(g.hitVsPeer >= 20), g.missVsFloor, mark(g.missVsFloor <= 1.15), g.missAheadOfPeers, g.fastestPeer)
	}
	fmt.Fprintln(w)
}
