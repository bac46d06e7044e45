package jose

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/internal/fuzzcost"
)

func FuzzParseJWKSet(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"good"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var (
			set *KeySet
			err error
		)
		fuzzcost.Check(t, len(doc), func() { set, _, err = ParseJWKSet(doc, false) })
		if err != nil {
			return
		}
		for _, k := range set.Keys {
			if len(k.Algs) == 0 {
				t.Fatal("key without algorithms")
			}
			if _, ok := k.Key.([]byte); ok {
				t.Fatal("secret accepted from a public key set")
			}
			for _, a := range k.Algs {
				if !algorithms[a].fits(k.Key) {
					t.Fatalf("alg %s bound to a key it does not fit", a)
				}
			}
		}
	})
}

// FuzzParseClaims checks the fast claims reader against encoding/json: what
// it accepts is valid JSON, and it reads the same registered claims.
func FuzzParseClaims(f *testing.F) {
	f.Add([]byte(`{"iss":"i","aud":["a"],"exp":1.5,"scope":"a b","scp":["c"]}`))
	f.Add([]byte(`{"exp":1e308,"nbf":-1e308,"iat":null}`))
	f.Add([]byte(`{"iss":"a","iss":"b"}`))
	f.Add([]byte(`{"Iss":"0"}`))
	f.Add([]byte(`{"":1e700}`))
	f.Add([]byte(`{"role":"user","ROLE":"admin"}`))
	f.Add([]byte(`{"iss":"\u00e9\ud800","sub":"x\n"}`))
	f.Add([]byte("{\"\":\"\x0f\\b\"}")) // a raw control character (CI finding, 2026-11-23)
	f.Add([]byte(`{"sub":"a","ſub":"b"}`))
	f.Add([]byte(`{"a":{"r":1,"R":2}}`))
	f.Add([]byte(`{"exp":null}`))
	f.Add([]byte(`{"alg":"ES256","x":` + strings.Repeat("[", 6000)))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, ok := parseClaimsWithinCost(t, payload)
		if !ok {
			return
		}
		if !json.Valid(payload) {
			t.Fatalf("accepted invalid JSON %q", payload)
		}
		// Decode by exact member name, as RFC 7519 names are case-sensitive.
		std, err := decodeExact(payload)
		if err != nil {
			t.Fatalf("encoding/json refuses %q: %v", payload, err)
		}
		str := func(name string) string { s, _ := std[name].(string); return s }
		if str("iss") != c.Issuer || str("sub") != c.Subject || str("jti") != c.ID {
			t.Fatalf("readers disagree on %q: iss %q/%q sub %q/%q", payload, str("iss"), c.Issuer, str("sub"), c.Subject)
		}
		for name := range std {
			for other := range std {
				if name != other && strings.EqualFold(name, other) {
					t.Fatalf("accepted %q with names %q and %q", payload, name, other)
				}
			}
		}
		if c.ExpiresAt.After(MaxDate) {
			t.Fatalf("exp %v past the clamp", c.ExpiresAt)
		}
	})
}

// decodeExact decodes a JSON object with encoding/json, keeping numbers as
// text so that valid JSON numbers too large for a float64 do not fail it.
func decodeExact(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// FuzzParseHeader checks the header reader: whatever it accepts is valid
// JSON with a string alg, read as encoding/json reads it.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte(`{"alg":"RS256","kid":"k","typ":"JWT"}`))
	f.Add([]byte(`{"alg":"RS256","alg":"none"}`))
	f.Add([]byte(`{"alg":"ES256","crit":["b64"],"b64":false}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var (
			h  Header
			ok bool
		)
		fuzzcost.Check(t, len(b), func() { h = Header{}; ok = ParseHeader(b, &h) == nil })
		if !ok {
			return
		}
		std, err := decodeExact(b)
		if err != nil {
			t.Fatalf("encoding/json refuses %q: %v", b, err)
		}
		alg, _ := std["alg"].(string)
		kid, _ := std["kid"].(string)
		_, crit := std["crit"]
		if alg != h.Alg || kid != h.Kid || crit != h.Crit {
			t.Fatalf("readers disagree on %q: %+v vs %v", b, h, std)
		}
	})
}

// parseClaimsWithinCost parses a fuzzed claims set under the time and
// allocation oracle; ok is false when ParseClaims refused it.
func parseClaimsWithinCost(t *testing.T, payload []byte) (c *Claims, ok bool) {
	c = new(Claims)
	var err error
	fuzzcost.Check(t, len(payload), func() { *c = Claims{}; err = ParseClaims(payload, c) })
	return c, err == nil
}
