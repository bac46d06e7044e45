package jwtguard

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// A Revoker says whether a verified token has been revoked. The guard asks
// it on every request it accepts, cache hits included, after its own
// checks. It must answer from memory: nothing on the request path may
// wait on a network. It returns nil for a token in good standing, an error
// matching [ErrRevoked] for a revoked one (401), and any other error when
// it cannot tell — a mirror that has lost its source for too long, say —
// which refuses the request with 503 (fail closed).
type Revoker interface {
	Revoked(c *Claims) error
}

// WithRevocations consults r on every accepted request; see [Revoker] and
// [RevocationList]. Default: none.
func WithRevocations(r Revoker) Option {
	return guardOption(func(c *config) error {
		if r == nil {
			return errors.New("WithRevocations: nil Revoker")
		}
		c.revokers = append(c.revokers, r)
		return nil
	})
}

// RevocationList is an in-memory [Revoker]: revoke by token (iss + jti), by
// session (iss + sid), or by subject with an "issued before" watermark
// (iss + sub: sign out everywhere, a password change). Each entry lives
// until the tokens it covers would have expired anyway, so the list stays
// small. Checking a token costs two atomic loads while nothing has been
// revoked since the token was last checked, and a few map lookups
// otherwise, without allocating. Safe for concurrent use.
//
// It is the single-instance default and the local mirror that fleet
// implementations (the Redis module) keep in step.
type RevocationList struct {
	now func() time.Time

	mu       sync.RWMutex
	tokens   map[revocationKey]time.Time        // until
	sessions map[revocationKey]time.Time        // until
	subjects map[revocationKey]subjectWatermark // tokens issued before are revoked
	// version changes with every revocation added, so a token found in good
	// standing need not be looked up again until it does. It is drawn from
	// revocationVersions, so no two lists share one: a claims' goodAt says
	// which list found it good, not only when.
	version atomic.Uint64
	adds    int // since the last sweep of expired entries
}

type revocationKey struct{ iss, id string }

type subjectWatermark struct {
	issuedBefore time.Time
	until        time.Time
}

// NewRevocationList returns an empty list; now may be nil (time.Now).
func NewRevocationList(now func() time.Time) *RevocationList {
	if now == nil {
		now = time.Now
	}
	l := &RevocationList{
		now:      now,
		tokens:   make(map[revocationKey]time.Time),
		sessions: make(map[revocationKey]time.Time),
		subjects: make(map[revocationKey]subjectWatermark),
	}
	l.version.Store(revocationVersions.Add(1)) // never 0, a token never checked
	return l
}

// revocationVersions numbers the states of every RevocationList. Versions
// per list, each from 1, let a guard with two lists take one list's
// goodAt for the other's when their counts met, and skip the lookup of a
// token only the other had revoked (an attack review's finding).
var revocationVersions atomic.Uint64

// RevokeToken revokes the token of issuer iss with this jti until it
// expires (give its exp, plus your leeway).
func (l *RevocationList) RevokeToken(iss, jti string, until time.Time) {
	l.add(func() { l.tokens[revocationKey{iss, jti}] = later(l.tokens[revocationKey{iss, jti}], until) })
}

// RevokeSession revokes every token of issuer iss whose sid is sid, until
// until (the session's absolute expiry plus the longest token lifetime).
func (l *RevocationList) RevokeSession(iss, sid string, until time.Time) {
	l.add(func() { l.sessions[revocationKey{iss, sid}] = later(l.sessions[revocationKey{iss, sid}], until) })
}

// RevokeSubject revokes every token of issuer iss for subject sub issued
// before issuedBefore (a token without iat counts as issued before), until
// until (issuedBefore plus the longest token lifetime).
func (l *RevocationList) RevokeSubject(iss, sub string, issuedBefore, until time.Time) {
	l.add(func() {
		k := revocationKey{iss, sub}
		w := l.subjects[k]
		if issuedBefore.After(w.issuedBefore) {
			w.issuedBefore = issuedBefore
		}
		w.until = later(w.until, until)
		l.subjects[k] = w
	})
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (l *RevocationList) add(f func()) {
	l.mu.Lock()
	f()
	l.version.Store(revocationVersions.Add(1))
	l.adds++
	if l.adds >= 1024 {
		l.adds = 0
		l.sweepLocked(l.now())
	}
	l.mu.Unlock()
}

// sweepLocked drops entries past their until.
func (l *RevocationList) sweepLocked(now time.Time) {
	for k, until := range l.tokens {
		if now.After(until) {
			delete(l.tokens, k)
		}
	}
	for k, until := range l.sessions {
		if now.After(until) {
			delete(l.sessions, k)
		}
	}
	for k, w := range l.subjects {
		if now.After(w.until) {
			delete(l.subjects, k)
		}
	}
}

// Sweep drops expired entries now (they are also dropped as revocations
// are added).
func (l *RevocationList) Sweep() {
	l.mu.Lock()
	l.sweepLocked(l.now())
	l.mu.Unlock()
}

// Len reports the number of entries, expired ones not yet swept included.
func (l *RevocationList) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.tokens) + len(l.sessions) + len(l.subjects)
}

// Revoked implements [Revoker].
func (l *RevocationList) Revoked(c *Claims) error {
	v := l.version.Load()
	if c.goodAt.Load() == v {
		return nil
	}
	if err := l.lookup(c); err != nil {
		return err
	}
	c.goodAt.Store(v)
	return nil
}

func (l *RevocationList) lookup(c *Claims) error {
	now := l.now()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if c.jc.ID != "" {
		if until, ok := l.tokens[revocationKey{c.jc.Issuer, c.jc.ID}]; ok && !now.After(until) {
			return failf(ErrRevoked, "token (jti) revoked")
		}
	}
	if c.jc.SessionID != "" {
		if until, ok := l.sessions[revocationKey{c.jc.Issuer, c.jc.SessionID}]; ok && !now.After(until) {
			return failf(ErrRevoked, "session (sid) revoked")
		}
	}
	if c.jc.Subject != "" {
		if w, ok := l.subjects[revocationKey{c.jc.Issuer, c.jc.Subject}]; ok && !now.After(w.until) &&
			(c.jc.IssuedAt.IsZero() || c.jc.IssuedAt.Before(w.issuedBefore)) {
			return failf(ErrRevoked, "subject's tokens issued before a watermark revoked")
		}
	}
	return nil
}

// checkRevocation asks every revoker about c.
func (g *Guard) checkRevocation(c *Claims) error {
	for _, r := range g.revokers {
		if err := r.Revoked(c); err != nil {
			if errors.Is(err, ErrRevoked) {
				return asError(err, ErrRevoked)
			}
			e := asError(err, ErrRevocationUnavailable)
			if errors.Is(e, ErrRevocationUnavailable) && e.RetryAfter == 0 {
				e.RetryAfter = 1
			}
			return e
		}
	}
	return nil
}
