package issuer

import (
	"strings"
	"testing"
)

// FuzzFoldKey: foldKey groups names exactly as strings.EqualFold does,
// which is how both encoding/json and jwtguard's parser compare them.
func FuzzFoldKey(f *testing.F) {
	for _, seed := range [][2]string{{"sub", "ſub"}, {"K", "\u212a"}, {"ß", "ẞ"}, {"σ", "ς"}, {"a\xff", "A\xfe"}, {"iss", "ISS"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := foldKey(a) == foldKey(b), strings.EqualFold(a, b); got != want {
			t.Fatalf("foldKey(%q) == foldKey(%q) is %v; EqualFold says %v", a, b, got, want)
		}
	})
}
