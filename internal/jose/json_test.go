package jose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jwtguard/jwtguard/internal/fuzzcost"
)

// FuzzCheckJSON checks the scanner against encoding/json: what it accepts
// is valid JSON within the depth limit, with no two names in one object
// that encoding/json would match to one field; and valid UTF-8 JSON of that
// kind, free of surrogate escapes, is accepted.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{}`, ` {"a":[1,2,{"b":null}]} `, `{"a":"\u00e9\ud83d\ude00"}`, `{"sub":1,"ſub":2}`,
		`{"a":{"k":1,"K":2}}`, `{"a":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`, `{"":"\u0000"}`,
		`{"a":-0.0e+1,"b":1E400}`, `{"a":01}`, `{"a":"\x0f"}`, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var err error
		fuzzcost.Check(t, len(b), func() { err = CheckJSON(b) })
		verdict, depthOK, dupFree := referenceVerdict(b)
		if err == nil && (!verdict || !depthOK || !dupFree) {
			t.Fatalf("accepted %q: encoding/json valid object=%v, depth ok=%v, names distinct=%v", b, verdict, depthOK, dupFree)
		}
		surrogate := bytes.Contains(bytes.ToLower(b), []byte(`\ud`))
		if err != nil && verdict && depthOK && dupFree && utf8.Valid(b) && !surrogate {
			t.Fatalf("refused %q (%v), which encoding/json reads as one object", b, err)
		}
	})
}

// referenceVerdict walks b with encoding/json's tokenizer: is it one JSON
// object, no deeper than MaxDepth, with names distinct under folding?
func referenceVerdict(b []byte) (valid, depthOK, dupFree bool) {
	if !json.Valid(b) {
		return false, true, true
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	depthOK, dupFree = true, true
	type frame struct {
		object bool
		names  map[string]bool
		key    bool // the next token of an object is a name
	}
	var stack []*frame
	first := true
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, depthOK, dupFree
		}
		if first {
			if delim, ok := tok.(json.Delim); !ok || delim != '{' {
				return false, depthOK, dupFree
			}
			first = false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if name, ok := tok.(string); ok {
				folded := FoldName([]byte(name))
				if top.names[folded] {
					dupFree = false
				}
				top.names[folded] = true
				top.key = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if top != nil && top.object {
				top.key = true
			}
			stack = append(stack, &frame{object: tok == json.Delim('{'), names: map[string]bool{}, key: true})
			if len(stack) > MaxDepth {
				depthOK = false
			}
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		default:
			if top != nil && top.object {
				top.key = true
			}
		}
	}
	return true, depthOK, dupFree
}

// BenchmarkHostileJSON shows the scanner's cost per byte staying flat as
// hostile shapes grow to the token size cap (and to 64 KiB, for key sets).
// Compare the ns/byte metric across sizes of one shape.
func BenchmarkHostileJSON(b *testing.B) {
	shapes := map[string]func(n int) []byte{
		"deep-open":   func(n int) []byte { return []byte(`{"alg":"ES256","x":` + strings.Repeat("[", n)) },
		"deep-closed": func(n int) []byte { return []byte(`{"x":` + strings.Repeat("[", n/2) + strings.Repeat("]", n/2) + `}`) },
		"wide-array":  func(n int) []byte { return []byte(`{"x":[` + strings.Repeat("1,", n/2) + `1]}`) },
		"long-string": func(n int) []byte { return []byte(`{"x":"` + strings.Repeat("a", n) + `"}`) },
		"escapes":     func(n int) []byte { return []byte(`{"x":"` + strings.Repeat(`\u00e9`, n/6) + `"}`) },
		"members": func(n int) []byte {
			var s strings.Builder
			s.WriteString(`{`)
			for i := 0; s.Len() < n; i++ {
				fmt.Fprintf(&s, `"m%d":0,`, i)
			}
			s.WriteString(`"end":0}`)
			return []byte(s.String())
		},
		"scope-scp": func(n int) []byte {
			var scope, scp strings.Builder
			for i := 0; scope.Len() < n/2; i++ {
				fmt.Fprintf(&scope, "s%d ", i)
				fmt.Fprintf(&scp, `"p%d",`, i)
			}
			return []byte(`{"scope":"` + scope.String() + `","scp":[` + scp.String() + `"end"]}`)
		},
		"folded-members": func(n int) []byte {
			var s strings.Builder
			s.WriteString(`{`)
			for i := 0; s.Len() < n; i++ {
				fmt.Fprintf(&s, `"ſ%d":0,`, i)
			}
			s.WriteString(`"end":0}`)
			return []byte(s.String())
		},
	}
	for _, name := range []string{"deep-open", "deep-closed", "wide-array", "long-string", "escapes", "members", "folded-members", "scope-scp"} {
		for _, size := range []int{1 << 10, 4 << 10, 8 << 10, 64 << 10} {
			doc := shapes[name](size)
			b.Run(fmt.Sprintf("%s/%dKiB", name, size>>10), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(doc)))
				for b.Loop() {
					var c Claims
					_ = ParseClaims(doc, &c) // the claims reader: the scanner plus what it builds
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(doc)), "ns/byte")
			})
		}
	}
}

// TestNonASCIINamesFoldOnce: a non-ASCII member name is folded once, not
// once per comparison (allocations are the deterministic witness).
func TestNonASCIINamesFoldOnce(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for o := range 20 {
		if o > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"o%d":{`, o)
		for k := range 16 {
			if k > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"%s%c":0`, strings.Repeat("Θ", 30), 'a'+k)
		}
		b.WriteString("}")
	}
	b.WriteString("}")
	doc := []byte(b.String())
	if err := CheckJSON(doc); err != nil {
		t.Fatal(err)
	}
	names := 20 * 16
	if allocs := testing.AllocsPerRun(5, func() { _ = CheckJSON(doc) }); allocs > 1.25*float64(names) { // comparing each name with every other folded them 8 times each
		t.Fatalf("%.0f allocations for %d names: folded more than once each", allocs, names)
	}
}

// TestClaimsMissing: one pass finds the first absent or null name, in the
// order asked, and agrees with Has name by name.
func TestClaimsMissing(t *testing.T) {
	t.Parallel()
	var c Claims
	if err := ParseClaims([]byte(`{"sub":"a","ext":null,"client_id":"c","iat":1,"x\u0079":2}`), &c); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{nil, ""},
		{[]string{"sub", "client_id", "iat"}, ""},
		{[]string{"sub", "ext", "iat"}, "ext"},
		{[]string{"aud", "ext"}, "aud"},
		{[]string{"xy"}, ""},
		{[]string{"Sub"}, "Sub"},
	} {
		if got := c.Missing(tc.names); got != tc.want {
			t.Errorf("Missing(%q) = %q, want %q", tc.names, got, tc.want)
		}
		if tc.want != "" && c.Has(tc.want) {
			t.Errorf("Has(%q) = true, but Missing names it", tc.want)
		}
	}
}

// BenchmarkParseClaims reads a typical access token's claims set.
func BenchmarkParseClaims(b *testing.B) {
	payload := []byte(`{"aud":"orders-api","exp":1795000000,"iat":1794999700,"iss":"https://login.example.com/","jti":"4f3e2d1c","scope":"orders:read orders:write","sub":"alice"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		c := new(Claims) // as the guard does: its Claims live on
		if err := ParseClaims(payload, c); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReadDateWholeSeconds: the whole-seconds fast path reads what the
// float path reads, at the edges too.
func TestReadDateWholeSeconds(t *testing.T) {
	t.Parallel()
	max := strconv.FormatInt(MaxDate.Unix(), 10)
	for _, n := range []string{"0", "1", "1794999700", max, "253402300800", "999999999999999", "1000000000000000", "1.0", "17e8"} {
		var fast, slow time.Time
		if !readDate(Value{kind: Number, raw: []byte(n)}, &fast) {
			t.Fatalf("%s: refused", n)
		}
		f, _ := strconv.ParseFloat(n, 64)
		switch {
		case f >= float64(MaxDate.Unix()):
			slow = MaxDate
		case f <= 0:
			slow = time.Unix(0, 0).UTC()
		default:
			sec, frac := math.Modf(f)
			slow = time.Unix(int64(sec), int64(frac*1e9)).UTC()
		}
		if !fast.Equal(slow) || fast.Location() != slow.Location() {
			t.Errorf("%s: %v, the float reading gives %v", n, fast, slow)
		}
	}
}
