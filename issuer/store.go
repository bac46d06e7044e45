package issuer

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrNotFound is returned by a [Store] for an unknown refresh token.
var ErrNotFound = errors.New("issuer: refresh token not found")

// RefreshRecord is what a store keeps of one refresh token. The token
// itself is never stored: only its SHA-256.
type RefreshRecord struct {
	Hash          [32]byte
	Family        string         // every token rotated from one login shares it
	Subject       string         // the user
	Claims        map[string]any // extra claims for the access tokens it refreshes into
	IdleExpiry    time.Time      // this token expires unused at
	FamilyExpiry  time.Time      // no token of the family lives past this (absolute lifetime)
	Used          bool           // it was already exchanged once
	FamilyRevoked bool           // logout or detected reuse
}

// Store keeps refresh tokens. Implementations must be safe for concurrent
// use, and Use must be atomic: of two concurrent calls for one hash,
// exactly one sees Used == false.
type Store interface {
	// Create saves a new, unused token.
	Create(ctx context.Context, rec RefreshRecord) error
	// Use marks the token used and returns its record as it was before.
	Use(ctx context.Context, hash [32]byte) (RefreshRecord, error)
	// RevokeFamily revokes every token of a family, used or not.
	RevokeFamily(ctx context.Context, family string) error
	// FamilyRevoked reports whether a family was revoked.
	FamilyRevoked(ctx context.Context, family string) (bool, error)
}

// MemoryStore is an in-memory [Store] for a single process; records go
// away after their family's absolute expiry.
type MemoryStore struct {
	now func() time.Time

	mu       sync.Mutex
	tokens   map[[32]byte]*RefreshRecord
	families map[string]*family
	ops      int
}

type family struct {
	revoked bool
	expiry  time.Time
}

// NewMemoryStore returns an empty store. now may be nil (time.Now).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, tokens: map[[32]byte]*RefreshRecord{}, families: map[string]*family{}}
}

func (m *MemoryStore) Create(_ context.Context, rec RefreshRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneLocked()
	if _, dup := m.tokens[rec.Hash]; dup {
		return errors.New("issuer: duplicate refresh token")
	}
	r := rec
	m.tokens[rec.Hash] = &r
	f := m.families[rec.Family]
	if f == nil {
		f = &family{}
		m.families[rec.Family] = f
	}
	f.expiry = rec.FamilyExpiry
	return nil
}

func (m *MemoryStore) Use(_ context.Context, hash [32]byte) (RefreshRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.tokens[hash]
	if !ok {
		return RefreshRecord{}, ErrNotFound
	}
	before := *r
	if f := m.families[r.Family]; f != nil {
		before.FamilyRevoked = f.revoked
	}
	r.Used = true
	return before, nil
}

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

func (m *MemoryStore) FamilyRevoked(_ context.Context, fam string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.families[fam]
	return f != nil && f.revoked, nil
}

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
		if now.After(f.expiry) {
			delete(m.families, name)
		}
	}
}
