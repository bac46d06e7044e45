package jose

import (
	"encoding/base64"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
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
	headerJSON, err := b64.DecodeString(h)
	if err != nil {
		return nil, malformed("header is not strict unpadded base64url")
	}
	t := &Token{SigningInput: token[:len(h)+1+len(p)]}
	if err := ParseHeader(headerJSON, &t.Header); err != nil {
		return nil, err
	}
	if t.Payload, err = b64.DecodeString(p); err != nil {
		return nil, malformed("payload is not strict unpadded base64url")
	}
	if t.Signature, err = b64.DecodeString(s); err != nil {
		return nil, malformed("signature is not strict unpadded base64url")
	}
	return t, nil
}

func base64urlOrDot(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

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

// VerifySignature checks a JWS signature over input with key (a public key
// or an HMAC secret) for alg. The caller has bound alg to the key.
func VerifySignature(key any, alg string, input, sig []byte) bool {
	return jwsbb.Verify(key, alg, input, sig) == nil
}
