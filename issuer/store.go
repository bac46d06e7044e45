package issuer

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"
)

// ErrNotFound is returned by a [Store] for an unknown refresh token.
var ErrNotFound = errors.New("issuer: refresh token not found")

// RefreshRecord is what a store keeps of one refresh token. The token
// itself is never stored: only a SHA-256 of it and of the browser's binding
// cookie together, so that it is known only with the binding it was issued
// with (see [Sessions]).
type RefreshRecord struct {
	Hash         [32]byte
	Family       string         // every token rotated from one login shares it; the access tokens' sid
	Subject      string         // the user
	Claims       map[string]any // extra claims for the access tokens it refreshes into
	Generation   uint64         // 0 for the login's token, one more for each exchange after it
	IdleExpiry   time.Time      // this token expires unused at
	FamilyExpiry time.Time      // no token of the family lives past this (absolute lifetime)

	// Kept by the store: Create ignores them, Use reports them as they were
	// before the call.
	UsedAt        time.Time // first exchange of this token; zero while unused (and while stale: see Use)
	Reuses        int       // exchanges after the first
	FamilyHead    uint64    // the family's newest generation
	FamilyRevoked bool      // logout or detected reuse
}

// Store keeps refresh tokens. Implementations must be safe for concurrent
// use, and each method must be atomic (a single Redis script, say). Use
// above all: of concurrent calls for one hash of the family's newest
// generation exactly one sees UsedAt zero, and each of the others sees a
// different Reuses. [Sessions] decides everything else from what Use
// returns.
//
// A revoked family must stay revoked (FamilyRevoked true, Use reporting
// FamilyRevoked) until at least 11 minutes past its FamilyExpiry: its access
// tokens expire by FamilyExpiry, and a guard accepts them up to 10 minutes
// (its leeway) longer.
type Store interface {
	// Create saves a new, unused token and raises its family's head to
	// rec.Generation if it is lower.
	Create(ctx context.Context, rec RefreshRecord) error
	// Use returns the token's record as it was before the call, with its
	// family's head and revocation, and records the call: the first use of
	// a token of the newest generation (Generation >= FamilyHead) sets
	// UsedAt to now and raises the family head to Generation+1, every later
	// one adds one to Reuses. A stale token (Generation < FamilyHead) that
	// was never used stays so: Sessions takes its use for theft and revokes
	// the family, and must do so again at every use if that revocation
	// failed, instead of finding a token used moments ago (a grace
	// exchange). An unknown token is ErrNotFound.
	Use(ctx context.Context, hash [32]byte, now time.Time) (RefreshRecord, error)
	// RevokeFamily revokes every token of a family, used or not.
	RevokeFamily(ctx context.Context, family string) error
	// FamilyRevoked reports whether a family was revoked.
	FamilyRevoked(ctx context.Context, family string) (bool, error)
}

// MemoryStore is an in-memory [Store] for a single process; tokens go away
// after their family's absolute expiry, families revokedRetention later.
type MemoryStore struct {
	now func() time.Time

	mu       sync.Mutex
	tokens   map[[32]byte]*RefreshRecord
	families map[string]*family
	ops      int
}

type family struct {
	revoked bool
	head    uint64
	expiry  time.Time
}

// NewMemoryStore returns an empty store. now may be nil (time.Now).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, tokens: map[[32]byte]*RefreshRecord{}, families: map[string]*family{}}
}

// Create implements [Store].
func (m *MemoryStore) Create(_ context.Context, rec RefreshRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneLocked()
	if _, dup := m.tokens[rec.Hash]; dup {
		return errors.New("issuer: duplicate refresh token")
	}
	r := rec
	r.Claims = maps.Clone(rec.Claims)
	r.UsedAt, r.Reuses, r.FamilyHead, r.FamilyRevoked = time.Time{}, 0, 0, false
	m.tokens[rec.Hash] = &r
	f := m.families[rec.Family]
	if f == nil {
		f = &family{}
		m.families[rec.Family] = f
	}
	f.head = max(f.head, rec.Generation)
	f.expiry = rec.FamilyExpiry
	return nil
}

// Use implements [Store].
func (m *MemoryStore) Use(_ context.Context, hash [32]byte, now time.Time) (RefreshRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.tokens[hash]
	if !ok {
		return RefreshRecord{}, ErrNotFound
	}
	f := m.families[r.Family]
	if f == nil { // revoked and pruned meanwhile; cannot happen while the token is kept
		f = &family{revoked: true, head: r.Generation, expiry: r.FamilyExpiry}
		m.families[r.Family] = f
	}
	before := *r
	before.FamilyHead, before.FamilyRevoked = f.head, f.revoked
	switch {
	case !r.UsedAt.IsZero():
		r.Reuses++
	case r.Generation >= f.head:
		r.UsedAt = now
		f.head = max(f.head, r.Generation+1)
	}
	// A stale token never used stays unused: see Store.Use.
	return before, nil
}

// RevokeFamily implements [Store].
func (m *MemoryStore) RevokeFamily(_ context.Context, fam string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.families[fam]
	if f == nil {
		f = &family{expiry: m.now().Add(24 * time.Hour)}
		m.families[fam] = f
	}
	f.revoked = true
	return nil
}

// FamilyRevoked implements [Store].
func (m *MemoryStore) FamilyRevoked(_ context.Context, fam string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.families[fam]
	return f != nil && f.revoked, nil
}

// revokedRetention is how long a family is kept past its absolute expiry:
// its access tokens expire by then, and guards accept them for at most 10
// minutes (their leeway) longer, a minute added for clock skew. Keeping the
// family keeps its revocation for the deprecated [Sessions.Validator].
const revokedRetention = 11 * time.Minute

// pruneLocked drops expired families now and then, so the store stays
// bounded by the number of live sessions.
func (m *MemoryStore) pruneLocked() {
	m.ops++
	if m.ops%256 != 0 {
		return
	}
	now := m.now()
	for h, r := range m.tokens {
		if now.After(r.FamilyExpiry) {
			delete(m.tokens, h)
		}
	}
	for name, f := range m.families {
		if now.After(f.expiry.Add(revokedRetention)) {
			delete(m.families, name)
		}
	}
}
