package jwtguardredis

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestFreshness: stale until the first confirmation, fresh for the bound
// after the poll that confirmed (not after its answer), stale past it even
// with nobody looking, fresh again on the next confirmation; a confirmation
// older than the newest changes nothing; after stop, stale once the bound
// passes.
func TestFreshness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFreshness(30 * time.Second)
		if !f.stale.Load() {
			t.Fatal("fresh before any confirmation")
		}
		asked := time.Now()
		time.Sleep(2 * time.Second) // the poll's round trip
		f.confirm(asked)
		if f.stale.Load() {
			t.Fatal("stale right after a confirmation")
		}
		time.Sleep(27 * time.Second)
		synctest.Wait()
		if f.stale.Load() {
			t.Fatal("stale 29 s after the confirming poll was sent")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if !f.stale.Load() {
			t.Fatal("fresh 31 s after the confirming poll was sent")
		}
		f.confirm(asked) // an old answer
		if !f.stale.Load() {
			t.Fatal("an answer older than the bound made it fresh")
		}
		f.confirm(time.Now())
		time.Sleep(20 * time.Second)
		f.confirm(time.Now())
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if f.stale.Load() {
			t.Fatal("stale 20 s after the newest of two confirmations")
		}
		f.stop()
		f.confirm(time.Now())
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if !f.stale.Load() {
			t.Fatal("a stopped tracker stayed fresh past the bound")
		}
	})
}
