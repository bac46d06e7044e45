package jwtguard

import "sync"

// goroutines counts the background goroutines of a Guard or a KeySet. Once
// closed it starts no more, so Close's wait never races a request that
// would start a fetch or a resolver call (sync.WaitGroup forbids an Add
// concurrent with a Wait that can return).
type goroutines struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Go runs f in a counted goroutine and reports true, or reports false
// after close.
func (g *goroutines) Go(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Go(f)
	return true
}

// close starts no more goroutines and waits for those running.
func (g *goroutines) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}
