package jose

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzClaimsAgainstEncodingJSON: what ParseClaims reads (aud, scopes
// merged with scp, permissions, dates) is what encoding/json reads from the
// same payload. From the third attack review, after the claims reader's
// fast paths.
func FuzzClaimsAgainstEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"aud":"a","scope":"a b c","scp":["d","e"],"exp":17,"nbf":0,"iat":1.5}`,
		`{"aud":["a","b"],"scope":"x  y z w v u t","scp":"q r","permissions":"p"}`, `{"exp":253402300799}`, `{"exp":999999999999999}`,
		`{"aud":"\u0061","scope":"a\tb"}`, `{"scope":null,"scp":"a"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, ok := parseClaimsWithinCost(t, payload)
		if !ok {
			return
		}
		var std map[string]any
		d := json.NewDecoder(strings.NewReader(string(payload)))
		d.UseNumber()
		if err := d.Decode(&std); err != nil {
			t.Fatalf("%q: %v", payload, err)
		}
		strs := func(v any) []string {
			switch v := v.(type) {
			case string:
				return []string{v}
			case []any:
				var out []string
				for _, e := range v {
					out = append(out, e.(string))
				}
				return out
			}
			return nil
		}
		split := func(v any) []string {
			if s, ok := v.(string); ok {
				var out []string
				for _, p := range strings.Split(s, " ") {
					if p != "" {
						out = append(out, p)
					}
				}
				return out
			}
			return strs(v)
		}
		if a, ok := std["aud"]; ok && !slices.Equal(strs(a), c.Audience) {
			t.Fatalf("%q: aud %q, encoding/json %q", payload, c.Audience, strs(a))
		}
		want := split(std["scope"])
		for _, s := range split(std["scp"]) {
			if !slices.Contains(want, s) {
				want = append(want, s)
			}
		}
		if len(want) == 0 {
			want = nil
		}
		got := c.Scopes
		if len(got) == 0 {
			got = nil
		}
		if !slices.Equal(want, got) {
			t.Fatalf("%q: scopes %q, want %q", payload, c.Scopes, want)
		}
		if !slices.Equal(split(std["permissions"]), c.Permissions) && !(len(c.Permissions) == 0 && len(split(std["permissions"])) == 0) {
			t.Fatalf("%q: permissions %q", payload, c.Permissions)
		}
		for name, got := range map[string]time.Time{"exp": c.ExpiresAt, "nbf": c.NotBefore, "iat": c.IssuedAt} {
			n, ok := std[name].(json.Number)
			if !ok {
				continue
			}
			f, _ := strconv.ParseFloat(string(n), 64)
			var w time.Time
			switch {
			case f >= float64(MaxDate.Unix()):
				w = MaxDate
			case f <= 0:
				w = time.Unix(0, 0).UTC()
			default:
				sec, frac := math.Modf(f)
				w = time.Unix(int64(sec), int64(frac*1e9)).UTC()
			}
			if !w.Equal(got) {
				t.Fatalf("%q: %s %v, want %v", payload, name, got, w)
			}
		}
	})
}
