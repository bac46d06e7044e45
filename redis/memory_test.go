package jwtguardredis

import (
	"crypto/rand"
	"encoding/base64"
	"runtime"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// BenchmarkMirrorMemory: the heap a Mirror holds for 100,000 revoked
// sessions (issuer URL of 25 bytes, sid of 22, as issuer.Sessions makes
// them): its RevocationList plus what it keeps to write entries back
// after Redis loses its data. The list alone is reported too.
func BenchmarkMirrorMemory(b *testing.B) {
	const n = 100_000
	sids := make([]string, n)
	for i := range sids {
		buf := make([]byte, 16)
		_, _ = rand.Read(buf)
		sids[i] = base64.RawURLEncoding.EncodeToString(buf)
	}
	until := time.Now().Add(time.Hour).UnixMilli()
	var mirrorBytes, listBytes float64
	for b.Loop() {
		mirrorBytes = heapOf(func() any {
			m := &Mirror{now: time.Now, list: jwtguard.NewRevocationList(nil), known: make(map[string]int64)}
			for _, sid := range sids {
				e := entry{kind: 's', iss: "https://login.example.com", id: sid}
				m.applyLocked(e, e.member(), until)
			}
			return m
		})
		listBytes = heapOf(func() any {
			l := jwtguard.NewRevocationList(nil)
			for _, sid := range sids {
				l.RevokeSession("https://login.example.com", sid, time.UnixMilli(until))
			}
			return l
		})
	}
	b.ReportMetric(mirrorBytes/(1<<20), "MiB/100k")
	b.ReportMetric(mirrorBytes/n, "B/entry")
	b.ReportMetric(listBytes/(1<<20), "list-MiB/100k")
}

// heapOf is the live heap that what build returns holds.
func heapOf(build func() any) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return float64(after.HeapAlloc) - float64(before.HeapAlloc)
}
