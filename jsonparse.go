package jwtguard

import (
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Token headers and claims are read with fastjson (already a dependency of
// jwx) rather than encoding/json: it reads the few fields we need without
// reflection, which matters on the per-request path. The input is first
// validated against the JSON grammar and as UTF-8, and duplicate member
// names (also those equal but for case) are refused, so no other JSON
// parser can read the token differently.

var jsonParsers fastjson.ParserPool

// visitObject calls visit for each member of the JSON object b.
func visitObject(b []byte, visit func(key string, v *fastjson.Value) bool) bool {
	if len(b) == 0 || b[0] != '{' || !utf8.Valid(b) || fastjson.ValidateBytes(b) != nil || !pairedSurrogates(b) {
		return false
	}
	p := jsonParsers.Get()
	defer jsonParsers.Put(p)
	v, err := p.ParseBytes(b)
	if err != nil {
		return false
	}
	o, err := v.Object()
	if err != nil {
		return false
	}
	ok := true
	var seen [24]string
	n := 0
	var more map[string]struct{}
	o.Visit(func(k []byte, v *fastjson.Value) {
		if !ok {
			return
		}
		key := string(k)
		// Names equal but for case count as duplicates too: encoding/json,
		// which decodes custom claims, matches field names without case.
		for _, s := range seen[:n] {
			if strings.EqualFold(s, key) {
				ok = false
				return
			}
		}
		if n < len(seen) {
			seen[n] = key
			n++
		} else {
			folded := strings.ToLower(key)
			if more == nil {
				more = make(map[string]struct{})
			}
			if _, dup := more[folded]; dup {
				ok = false
				return
			}
			more[folded] = struct{}{}
		}
		ok = visit(key, v)
	})
	return ok
}

// pairedSurrogates reports whether every \u escape of a UTF-16 surrogate
// in grammatical JSON b is half of a proper pair. encoding/json turns a lone
// one into U+FFFD and fastjson keeps it as text; refusing it leaves no room
// for the two to read a token differently.
func pairedSurrogates(b []byte) bool {
	hex := func(i int) (rune, bool) {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range b[i+2 : i+6] {
			switch {
			case '0' <= c && c <= '9':
				r = r<<4 | rune(c-'0')
			case 'a' <= c && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case 'A' <= c && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		r, isU := hex(i)
		if !isU {
			i++ // an escape of one character, such as \\ or \"
			continue
		}
		switch {
		case 0xD800 <= r && r <= 0xDBFF:
			low, ok := hex(i + 6)
			if !ok || low < 0xDC00 || low > 0xDFFF {
				return false
			}
			i += 11
		case 0xDC00 <= r && r <= 0xDFFF:
			return false
		default:
			i += 5
		}
	}
	return true
}

// jsonString reads a JSON string member; null counts as absent.
func jsonString(v *fastjson.Value, dst *string) bool {
	switch v.Type() {
	case fastjson.TypeNull:
		return true
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		*dst = string(b)
		return true
	}
	return false
}

// jsonStrings reads a string or an array of strings.
func jsonStrings(v *fastjson.Value, split bool) ([]string, bool) {
	switch v.Type() {
	case fastjson.TypeNull:
		return nil, true
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if split {
			return strings.Fields(string(b)), true
		}
		return []string{string(b)}, true
	case fastjson.TypeArray:
		items, _ := v.Array()
		out := make([]string, 0, len(items))
		for _, it := range items {
			if it.Type() != fastjson.TypeString {
				return nil, false
			}
			b, _ := it.StringBytes()
			out = append(out, string(b))
		}
		return out, true
	}
	return nil, false
}

// jsonDate reads a NumericDate (RFC 7519 §2): seconds since the epoch,
// fractions kept, clamped to the epoch … year 9999.
func jsonDate(v *fastjson.Value, dst *time.Time) bool {
	switch v.Type() {
	case fastjson.TypeNull:
		return true
	case fastjson.TypeNumber:
	default:
		return false
	}
	f, err := v.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return false
	}
	switch {
	case f >= float64(maxDate.Unix()):
		*dst = maxDate
	case f <= 0:
		*dst = time.Unix(0, 0).UTC()
	default:
		sec, frac := math.Modf(f)
		*dst = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	return true
}

// parseHeader reads a protected header; alg is required.
func parseHeader(b []byte, h *joseHeader) bool {
	ok := visitObject(b, func(key string, v *fastjson.Value) bool {
		switch key {
		case "alg":
			return jsonString(v, &h.Alg)
		case "kid":
			return jsonString(v, &h.Kid)
		case "typ":
			return jsonString(v, &h.Typ)
		case "enc":
			return jsonString(v, &h.Enc)
		case "cty":
			return jsonString(v, &h.Cty)
		case "crit":
			h.Crit = true
		case "zip":
			h.Zip = true
		}
		return true
	})
	return ok && h.Alg != ""
}

func parseClaims(payload []byte) (*Claims, error) {
	c := &Claims{raw: payload}
	var scp []string
	ok := visitObject(payload, func(key string, v *fastjson.Value) bool {
		switch key {
		case "iss":
			return jsonString(v, &c.issuer)
		case "sub":
			return jsonString(v, &c.subject)
		case "jti":
			return jsonString(v, &c.id)
		case "aud":
			var ok bool
			c.audience, ok = jsonStrings(v, false)
			return ok
		case "exp":
			return jsonDate(v, &c.expiresAt)
		case "nbf":
			return jsonDate(v, &c.notBefore)
		case "iat":
			return jsonDate(v, &c.issuedAt)
		case "scope":
			s, ok := jsonStrings(v, true)
			c.scopes = append(s, c.scopes...)
			return ok
		case "scp":
			var ok bool
			scp, ok = jsonStrings(v, true)
			return ok
		}
		return true
	})
	if !ok {
		return nil, ErrMalformedToken
	}
	for _, s := range scp {
		if !slices.Contains(c.scopes, s) {
			c.scopes = append(c.scopes, s)
		}
	}
	return c, nil
}
