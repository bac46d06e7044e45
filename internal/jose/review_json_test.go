package jose

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// encoding/json's own view: would these two names hit one struct field?
func jsonSameField(a, b string) bool {
	return string(FoldName([]byte(a))) == string(FoldName([]byte(b)))
}

func TestReviewMemberNamePairs(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 40000)
	pairs := [][2]string{
		{"sub", "SUB"}, {"sub", "ſub"}, {"k", "\u212a"}, {"K", "\u212a"}, {"aud", "AUD"},
		{"aud", `\u0061ud`}, {"aud", `\u0041UD`}, {"", ""}, {"", `\u0000`}, {"s", "ſ"},
		{"ks", "\u212aſ"}, {"xk", "X\u212a"}, {long, strings.ToUpper(long)},
		{long + "b", strings.Repeat("a", 40000-32768) + "b"}, {"aa", "aA"}, {"a_", "A_"},
		{"a\u0130", "A\u0130"}, {"\u00b5", "\u03bc"}, {"\u00b5", "\u039c"}, {"ß", "ẞ"},
		{"a\u0000", "A\u0000"}, {"ǅ", "ǆ"}, {"ǅ", "Ǆ"}, {"Ω", "\u2126"},
	}
	for _, p := range pairs {
		for _, order := range [][2]string{p, {p[1], p[0]}} {
			doc := `{"` + order[0] + `":1,"` + order[1] + `":2}`
			// raw name in json: a name like \u0061ud is already an escape
			var n0, n1 string
			_ = json.Unmarshal([]byte(`"`+order[0]+`"`), &n0)
			_ = json.Unmarshal([]byte(`"`+order[1]+`"`), &n1)
			want := jsonSameField(n0, n1)
			err := CheckJSON([]byte(doc))
			if (err != nil) != want {
				t.Errorf("%.40q: err=%v, encoding/json same field=%v", doc, err, want)
			}
			// with 16 other names first (the map path) and 15 (the last pairwise slot)
			for _, k := range []int{14, 15, 16, 17} {
				var b strings.Builder
				b.WriteString("{")
				for i := range k {
					fmt.Fprintf(&b, `"f%d":0,`, i)
				}
				b.WriteString(doc[1:])
				err := CheckJSON([]byte(b.String()))
				if (err != nil) != want {
					t.Errorf("k=%d %.40q: err=%v, want dup=%v", k, doc, err, want)
				}
			}
		}
	}
}

// Random names over a tiny alphabet rich in fold partners: the scanner's
// duplicate verdict agrees with FoldName (encoding/json's fold) for every set.
func TestReviewMemberNamesRandom(t *testing.T) {
	t.Parallel()
	alpha := []string{"a", "A", "k", "K", "\u212a", "s", "S", "ſ", `\u0073`, `\u004b`, `\u212a`, "ß", "ẞ", "é", "É", ""}
	r := rand.New(rand.NewPCG(1, 2))
	for it := 0; it < 20000; it++ { // FuzzCheckJSON goes further
		n := 1 + r.IntN(20)
		var names []string
		seen := map[string]bool{}
		dup := false
		for range n {
			var nb strings.Builder
			for range r.IntN(4) {
				nb.WriteString(alpha[r.IntN(len(alpha))])
			}
			names = append(names, nb.String())
			var dec string
			if err := json.Unmarshal([]byte(`"`+nb.String()+`"`), &dec); err != nil {
				t.Fatal(err)
			}
			f := FoldName([]byte(dec))
			if seen[f] {
				dup = true
			}
			seen[f] = true
		}
		var b strings.Builder
		b.WriteString("{")
		for i, nm := range names {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"%s":%d`, nm, i)
		}
		b.WriteString("}")
		err := CheckJSON([]byte(b.String()))
		if (err != nil) != dup {
			t.Fatalf("%q: err=%v, want dup=%v", b.String(), err, dup)
		}
	}
}

// Every one- and two-byte string body: the scanner agrees with
// encoding/json on valid UTF-8, and refuses what it does not read exactly.
func TestReviewStringBytes(t *testing.T) {
	t.Parallel()
	check := func(body []byte) {
		doc := append(append([]byte(`{"a":"`), body...), `"}`...)
		err := CheckJSON(doc)
		valid := json.Valid(doc)
		if err == nil && !valid {
			t.Fatalf("accepted %q, encoding/json refuses", doc)
		}
		if err == nil && !utf8.Valid(doc) {
			t.Fatalf("accepted invalid UTF-8 %q", doc)
		}
		if err != nil && valid && utf8.Valid(doc) && !strings.Contains(strings.ToLower(string(doc)), `\ud`) {
			t.Fatalf("refused %q (%v), encoding/json reads it", doc, err)
		}
	}
	for a := range 256 {
		check([]byte{byte(a)})
		for b := range 256 {
			check([]byte{byte(a), byte(b)})
			check([]byte{'x', 'y', byte(a), byte(b), 'z'})
		}
	}
	for _, s := range []string{`\ud800`, `\udc00`, `\ud800\u0041`, `\ud800\udc00`, `\udbff\udfff`, `\ud800\ud800`,
		`\ud800\`, `\ud800\u`, `\u12`, `\u12g4`, `\x`, `\'`, "\x7f", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\xef\xbf\xbf"} {
		check([]byte(s))
		check([]byte("abc" + s + "def"))
	}
}

func TestReviewReadDate(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	slow := func(n string) (time.Time, bool) {
		f, err := strconv.ParseFloat(n, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return time.Time{}, false
		}
		switch {
		case f >= float64(MaxDate.Unix()):
			return MaxDate, true
		case f <= 0:
			return time.Unix(0, 0).UTC(), true
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
	}
	for it := 0; it < 300000; it++ {
		var n string
		switch it % 3 {
		case 0:
			n = strconv.FormatUint(r.Uint64N(1<<uint(1+r.IntN(63))), 10)
		case 1:
			n = strconv.FormatInt(MaxDate.Unix()+int64(r.IntN(5))-2, 10)
		default:
			n = strings.Repeat("9", 1+r.IntN(20))
		}
		doc := []byte(`{"exp":` + n + `}`)
		var c Claims
		err := ParseClaims(doc, &c)
		want, ok := slow(n)
		if (err == nil) != ok || (ok && (!c.ExpiresAt.Equal(want) || c.ExpiresAt.Location() != want.Location())) {
			t.Fatalf("%s: %v %v, float reading %v %v", n, c.ExpiresAt, err, want, ok)
		}
	}
	for _, bad := range []string{`"1"`, `true`, `null`, `[1]`, `{}`, `01`, `1.`, `+1`, `-`, `1e`, `0x10`} {
		var c Claims
		if err := ParseClaims([]byte(`{"exp":`+bad+`}`), &c); err == nil {
			t.Errorf("exp %s accepted: %v", bad, c.ExpiresAt)
		}
	}
}

// Appending to a returned slice, or merging scope with scp, never
// overwrites another claim's storage.
func TestReviewInlineAliasing(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`{"aud":"api","scope":"a b","scp":["c","d","e","f"],"permissions":"p q"}`,
		`{"scope":"a","aud":"api","scp":"b c d e f g"}`,
		`{"scp":"x y","scope":"a b c d e","aud":"api"}`,
		`{"aud":"api","scope":"a b c d e f g","scp":"h"}`,
		`{"aud":"api","scope":"","scp":"a"}`,
		`{"aud":"api","scope":"a a a a a","scp":"a b"}`,
	} {
		var c Claims
		if err := ParseClaims([]byte(doc), &c); err != nil {
			t.Fatal(err)
		}
		aud, sc, pm := slices.Clone(c.Audience), slices.Clone(c.Scopes), slices.Clone(c.Permissions)
		_ = append(c.Audience, "EVIL-A")
		_ = append(c.Scopes, "EVIL-S")
		_ = append(c.Permissions, "EVIL-P")
		if !slices.Equal(aud, c.Audience) || !slices.Equal(sc, c.Scopes) || !slices.Equal(pm, c.Permissions) {
			t.Errorf("%s: aud %q scopes %q perms %q changed to %q %q %q", doc, aud, sc, pm, c.Audience, c.Scopes, c.Permissions)
		}
		if len(c.Audience) > 0 && c.Audience[0] != "api" {
			t.Errorf("%s: aud %q", doc, c.Audience)
		}
		for _, s := range c.Scopes {
			if strings.HasPrefix(s, "EVIL") || s == "api" {
				t.Errorf("%s: scopes %q", doc, c.Scopes)
			}
		}
		t.Logf("%s -> aud %q scopes %q perms %q", doc, c.Audience, c.Scopes, c.Permissions)
	}
}

func TestReviewMissingVsHas(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	pool := []string{"a", "b", "c", "A", "sub", "x\u0079", "xy", "n", "", "ſ"}
	for it := 0; it < 20000; it++ {
		var b strings.Builder
		b.WriteString("{")
		used := map[string]bool{}
		for i := 0; i < r.IntN(6); i++ {
			nm := pool[r.IntN(len(pool))]
			var dec string
			_ = json.Unmarshal([]byte(`"`+nm+`"`), &dec)
			f := FoldName([]byte(dec))
			if used[f] {
				continue
			}
			used[f] = true
			if b.Len() > 1 {
				b.WriteString(",")
			}
			v := []string{"1", "null", `"s"`, "[]", "{}"}[r.IntN(5)]
			fmt.Fprintf(&b, `"%s":%s`, nm, v)
		}
		b.WriteString("}")
		var c Claims
		if err := ParseClaims([]byte(b.String()), &c); err != nil {
			continue
		}
		var names []string
		for range r.IntN(70) {
			names = append(names, []string{"a", "b", "c", "A", "sub", "xy", "n", "q", "ſ", "z"}[r.IntN(10)])
		}
		want := ""
		for _, n := range names {
			if !c.Has(n) {
				want = n
				break
			}
		}
		if got := c.Missing(names); got != want {
			t.Fatalf("%s Missing(%q) = %q, Has says %q", b.String(), names, got, want)
		}
	}
}
