package jwtguardredis

import (
	"sync"
	"sync/atomic"
	"time"
)

// freshness tracks whether the mirror confirmed, less than bound ago, that
// it holds every revocation in Redis. The request path reads stale, one
// atomic load; a timer sets it when the bound passes without a
// confirmation, whether or not the sync loop is stuck on Redis.
type freshness struct {
	bound time.Duration
	stale atomic.Bool // read on every request

	mu        sync.Mutex // guards confirmed and timer, and orders writes of stale
	confirmed time.Time  // when the newest confirming poll was sent; zero: never
	timer     *time.Timer
	stopped   bool // no more confirmations (Close)
}

func newFreshness(bound time.Duration) *freshness {
	f := &freshness{bound: bound}
	f.stale.Store(true) // until the first confirmation
	return f
}

// confirm records that the mirror held everything Redis had when a poll
// sent at sent was answered.
func (f *freshness) confirm(sent time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	if sent.After(f.confirmed) {
		f.confirmed = sent
	}
	left := f.bound - time.Since(f.confirmed)
	if left <= 0 {
		return
	}
	f.stale.Store(false)
	if f.timer == nil {
		f.timer = time.AfterFunc(left, f.check)
	} else {
		f.timer.Reset(left)
	}
}

// check runs when the bound may have passed.
func (f *freshness) check() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if left := f.bound - time.Since(f.confirmed); left > 0 {
		f.timer.Reset(left) // confirmed meanwhile
		return
	}
	f.stale.Store(true)
}

// last returns the time of the newest confirmation.
func (f *freshness) last() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.confirmed
}

// stop ends confirmations: the mirror goes stale when the bound passes.
func (f *freshness) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
}
