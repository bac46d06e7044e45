// Package fuzzcost is the cost oracle of the fuzz targets: every parser of
// untrusted bytes must stay linear, so one input may take at most MaxCall
// and allocate at most AllocPerByte bytes per input byte (plus a fixed
// allowance). A call over budget is retried: only the best of three runs
// fails, so a GC pause on a busy machine is not a finding.
package fuzzcost

import (
	"runtime/metrics"
	"testing"
	"time"
)

// The budget of one fuzz input.
const (
	MaxCall      = 50 * time.Millisecond
	AllocPerByte = 64
	AllocFixed   = 256 << 10
)

var sample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

func allocated() uint64 {
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// Check runs f (which parses inputLen bytes) and fails t if it costs more
// than the budget.
func Check(t testing.TB, inputLen int, f func()) {
	t.Helper()
	budget := uint64(AllocFixed + AllocPerByte*inputLen)
	bestTime, bestAlloc := time.Duration(1<<62), uint64(1<<62)
	for range 3 {
		a0, t0 := allocated(), time.Now()
		f()
		d, a := time.Since(t0), allocated()-a0
		bestTime, bestAlloc = min(bestTime, d), min(bestAlloc, a)
		if bestTime <= MaxCall && bestAlloc <= budget {
			return
		}
	}
	t.Fatalf("input of %d bytes: %v and %d bytes allocated (budget %v, %d bytes)", inputLen, bestTime, bestAlloc, MaxCall, budget)
}
