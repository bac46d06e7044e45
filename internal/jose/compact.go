package jose

import (
	"encoding/base64"
	"strings"
	"sync/atomic"
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
	t := new(Token)
	sig, err := ParseCompactInto(token, nil, t, nil)
	if err != nil {
		return nil, err
	}
	t.Signature = sig
	return t, nil
}

// ParseCompactInto is ParseCompact into t, with headers read through memo
// (which may be nil), but for the signature, which it returns (t.Signature
// stays nil) decoded into sigScratch when it fits. A caller done with the
// signature once it is checked can pass a buffer of its own stack: the
// token's allocation shrinks by the signature (256 bytes of an RS256 one).
// For the signature to stay on the stack it must never be stored in a
// Token (escape analysis tells a struct's fields apart from none of the
// others, and the payload is kept); see KeySet.VerifySignature.
func ParseCompactInto(token string, memo *HeaderMemo, t *Token, sigScratch []byte) (sig []byte, err error) {
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return nil, malformedCompact(token, "not three dot-separated segments")
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(s, '.') >= 0 {
		return nil, malformedCompact(token, "not three dot-separated segments")
	}
	if h == "" || s == "" {
		return nil, malformedCompact(token, "empty header or signature")
	}
	*t = Token{SigningInput: token[:len(h)+1+len(p)]}
	header, known := memo.lookup(h)
	n := b64.DecodedLen(len(p))
	sigFits := b64.DecodedLen(len(s)) <= len(sigScratch)
	if !sigFits {
		n += b64.DecodedLen(len(s))
	}
	if !known {
		n += b64.DecodedLen(len(h))
	}
	// One buffer for the decoded segments: one allocation, not three.
	buf := make([]byte, n)
	decode := func(seg string, what string) ([]byte, error) {
		n, ok := decodeInto(buf, seg)
		if !ok {
			return nil, malformedCompact(token, what+" is not strict unpadded base64url")
		}
		out := buf[:n:n]
		buf = buf[n:]
		return out, nil
	}
	if known {
		t.Header = header
	} else {
		headerJSON, err := decode(h, "header")
		if err != nil {
			return nil, err
		}
		if err := ParseHeader(headerJSON, &t.Header); err != nil {
			return nil, err
		}
		memo.remember(h, t.Header)
	}
	if t.Payload, err = decode(p, "payload"); err != nil {
		return nil, err
	}
	if !sigFits {
		return decode(s, "signature")
	}
	// Not through decode: the closure's buf flows into the payload, which
	// escapes.
	m, ok := decodeInto(sigScratch, s)
	if !ok {
		return nil, malformedCompact(token, "signature is not strict unpadded base64url")
	}
	return sigScratch[:m:m], nil
}

// malformedCompact names the first byte outside the compact alphabet when
// there is one (the likelier mistake: a quote, a space, a newline), and
// gives why otherwise. Only failures pay for the scan.
func malformedCompact(token, why string) error {
	for i := 0; i < len(token); i++ {
		if !base64urlOrDot(token[i]) {
			return malformed("byte %d is not base64url", i)
		}
	}
	return malformed("%s", why)
}

// HeaderMemo remembers the protected headers of recent tokens by their exact
// base64url text. An issuer's tokens share a handful of headers (one per
// key), so most tokens skip decoding and reading theirs. It is safe for
// concurrent use; the zero value is ready, and a nil memo remembers nothing.
type HeaderMemo struct {
	slots [memoSlots]atomic.Pointer[memoEntry]
}

const (
	memoSlots       = 8
	maxMemoedHeader = 512 // bytes of base64url; longer headers are read each time
)

type memoEntry struct {
	segment string
	header  Header
}

func memoSlot(seg string) int {
	// The last bytes of a header differ between kids; the slot only spreads
	// headers, the comparison is exact.
	return (len(seg) + int(seg[len(seg)-1]) + 3*int(seg[len(seg)/2])) % memoSlots
}

func (m *HeaderMemo) lookup(seg string) (Header, bool) {
	if m == nil {
		return Header{}, false
	}
	if e := m.slots[memoSlot(seg)].Load(); e != nil && e.segment == seg {
		return e.header, true
	}
	return Header{}, false
}

// remember stores h for seg. h's strings share the token's decoded buffer,
// so the entry gets its own copies.
func (m *HeaderMemo) remember(seg string, h Header) {
	if m == nil || len(seg) > maxMemoedHeader {
		return
	}
	e := &memoEntry{segment: strings.Clone(seg), header: h}
	e.header.Alg = internAlg(strings.Clone(h.Alg))
	e.header.Kid, e.header.Typ = strings.Clone(h.Kid), strings.Clone(h.Typ)
	e.header.Enc, e.header.Cty = strings.Clone(h.Enc), strings.Clone(h.Cty)
	m.slots[memoSlot(seg)].Store(e)
}

// decodeInto decodes strict unpadded base64url into dst. encoding/base64
// skips \r and \n, which a strict reading must refuse: a result shorter
// than the input's length allows means it met some.
func decodeInto(dst []byte, seg string) (int, bool) {
	n, err := b64.Decode(dst, stringBytes(seg))
	return n, err == nil && b64.EncodedLen(n) == len(seg)
}

// decodeString is decodeInto into a new slice.
func decodeString(seg string) ([]byte, error) {
	b := make([]byte, b64.DecodedLen(len(seg)))
	n, ok := decodeInto(b, seg)
	if !ok {
		return nil, malformed("not strict unpadded base64url")
	}
	return b[:n], nil
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
