// Package bench compares jwtguard with other Go JWT middlewares and with
// the raw crypto floor, through real http.Handler chains, on the traffic a
// server sees: tokens it has never seen, a client reusing its token, a mix
// of both, and a working set of live tokens from one to a million. It is a
// separate module so that no peer ever enters jwtguard's own go.mod.
//
// Pool (pool.go) signs numbered, distinct tokens once, so that every
// implementation is measured on the same tokens; Floor (floor.go) is the
// standard-library floor. The benchmarks are in bench_test.go; run.sh runs
// them in interleaved rounds and cmd/report turns the output into
// BENCHMARKS.md and ratio.svg.
package bench
