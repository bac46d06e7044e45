package jose

import (
	"encoding/base64"
	"strings"
)

// Token is a compact JWS split and decoded, not yet verified.
type Token struct {
	Header       Header
	SigningInput string // base64url(header) "." base64url(payload)
	Payload      []byte
	Signature    []byte
}

// Header is the protected header of a JWS or a JWE: the members either
// one needs. Enc, Cty and Zip only matter for a JWE.
type Header struct {
	Alg, Kid, Typ, Enc, Cty string
	Crit                    bool // a crit member is present
	Zip                     bool // a zip member is present
}

var b64 = base64.RawURLEncoding.Strict()

// ParseCompact splits and decodes a compact JWS strictly: three segments of
// unpadded base64url with zero trailing bits, a JSON object header with a
// string alg, and a non-empty signature. It never verifies anything.
func ParseCompact(token string) (*Token, error) {
	for i := 0; i < len(token); i++ {
		if !base64urlOrDot(token[i]) {
			return nil, malformed("byte %d is not base64url", i)
		}
	}
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return nil, malformed("not three dot-separated segments")
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(s, '.') >= 0 {
		return nil, malformed("not three dot-separated segments")
	}
	if h == "" || s == "" {
		return nil, malformed("empty header or signature")
	}
	// One buffer for the three decoded segments: one allocation, not three.
	buf := make([]byte, b64.DecodedLen(len(h))+b64.DecodedLen(len(p))+b64.DecodedLen(len(s)))
	decode := func(seg string, what string) ([]byte, error) {
		n, err := b64.Decode(buf, stringBytes(seg))
		if err != nil {
			return nil, malformed("%s is not strict unpadded base64url", what)
		}
		out := buf[:n:n]
		buf = buf[n:]
		return out, nil
	}
	headerJSON, err := decode(h, "header")
	if err != nil {
		return nil, err
	}
	t := &Token{SigningInput: token[:len(h)+1+len(p)]}
	if err := ParseHeader(headerJSON, &t.Header); err != nil {
		return nil, err
	}
	if t.Payload, err = decode(p, "payload"); err != nil {
		return nil, err
	}
	if t.Signature, err = decode(s, "signature"); err != nil {
		return nil, err
	}
	return t, nil
}

func base64urlOrDot(c byte) bool { return compactAlphabet[c] }

// compactAlphabet marks the bytes a compact JWS or JWE may hold.
var compactAlphabet = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	return t
}()

// TypMatches compares a typ header with a wanted media type, ignoring case
// and an "application/" prefix (RFC 7515 §4.1.9).
func TypMatches(got, want string) bool {
	trim := func(s string) string {
		if len(s) > len("application/") && strings.EqualFold(s[:len("application/")], "application/") {
			return s[len("application/"):]
		}
		return s
	}
	return strings.EqualFold(trim(got), trim(want))
}
