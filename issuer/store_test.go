package issuer_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/issuer"
)

// TestMemoryStoreUse: the Store contract Sessions relies on. The first Use
// sees the token unused and raises the family head; each later one sees the
// first use's time and one more Reuses, also when they race.
func TestMemoryStoreUse(t *testing.T) {
	t.Parallel()
	now := time.Now()
	s := issuer.NewMemoryStore(func() time.Time { return now })
	rec := issuer.RefreshRecord{Hash: [32]byte{1}, Family: "f", Subject: "alice", Generation: 3,
		IdleExpiry: now.Add(time.Hour), FamilyExpiry: now.Add(2 * time.Hour),
		UsedAt: now, Reuses: 7, FamilyHead: 9, FamilyRevoked: true} // kept by the store: ignored
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	const n = 16
	got := make([]issuer.RefreshRecord, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := s.Use(t.Context(), rec.Hash, now.Add(time.Duration(i)*time.Second))
			if err != nil {
				t.Error(err)
			}
			got[i] = r
		})
	}
	wg.Wait()
	first := slices.IndexFunc(got, func(r issuer.RefreshRecord) bool { return r.UsedAt.IsZero() })
	if first < 0 || got[first].FamilyHead != 3 || got[first].Reuses != 0 || got[first].FamilyRevoked {
		t.Fatalf("no first use, or a wrong one: %+v", got)
	}
	var reuses []int
	for i, r := range got {
		if i == first {
			continue
		}
		if !r.UsedAt.Equal(now.Add(time.Duration(first)*time.Second)) || r.FamilyHead != 4 {
			t.Fatalf("later use %+v: want the first use's time and head 4", r)
		}
		reuses = append(reuses, r.Reuses)
	}
	slices.Sort(reuses)
	for i, r := range reuses {
		if r != i {
			t.Fatalf("Reuses seen by the later uses: %v, want 0..%d once each", reuses, n-2)
		}
	}
	if err := s.RevokeFamily(t.Context(), "f"); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Use(t.Context(), rec.Hash, now); !r.FamilyRevoked {
		t.Fatal("Use after RevokeFamily: family not reported revoked")
	}
}
