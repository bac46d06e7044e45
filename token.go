package jwtguard

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// parsedToken is a compact JWS split and decoded, not yet verified.
type parsedToken struct {
	header       joseHeader
	signingInput string // base64url(header) "." base64url(payload)
	payload      []byte
	signature    []byte
}

// joseHeader is the protected header of a JWS or a JWE: the members either
// one needs. Enc, Cty and Zip only matter for a JWE.
type joseHeader struct {
	Alg, Kid, Typ, Enc, Cty string
	Crit                    bool // a crit member is present
	Zip                     bool // a zip member is present
}

var b64 = base64.RawURLEncoding.Strict()

// parseCompact splits and decodes a compact JWS strictly: three segments of
// unpadded base64url with zero trailing bits, a JSON object header with a
// string alg, and a non-empty signature. It never verifies anything.
func parseCompact(token string) (*parsedToken, error) {
	for i := 0; i < len(token); i++ {
		if !base64urlOrDot(token[i]) {
			return nil, fmt.Errorf("byte %d is not base64url", i)
		}
	}
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return nil, errors.New("not three dot-separated segments")
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(s, '.') >= 0 {
		return nil, errors.New("not three dot-separated segments")
	}
	if h == "" || s == "" {
		return nil, errors.New("empty header or signature")
	}
	headerJSON, err := b64.DecodeString(h)
	if err != nil {
		return nil, errors.New("header is not strict unpadded base64url")
	}
	t := &parsedToken{signingInput: token[:len(h)+1+len(p)]}
	if err := parseHeader(headerJSON, &t.header); err != nil {
		return nil, err
	}
	if t.payload, err = b64.DecodeString(p); err != nil {
		return nil, errors.New("payload is not strict unpadded base64url")
	}
	if t.signature, err = b64.DecodeString(s); err != nil {
		return nil, errors.New("signature is not strict unpadded base64url")
	}
	return t, nil
}

func base64urlOrDot(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// typMatches compares a typ header with a wanted media type, ignoring case
// and an "application/" prefix (RFC 7515 §4.1.9).
func typMatches(got, want string) bool {
	trim := func(s string) string {
		if len(s) > len("application/") && strings.EqualFold(s[:len("application/")], "application/") {
			return s[len("application/"):]
		}
		return s
	}
	return strings.EqualFold(trim(got), trim(want))
}

// verifyJWS checks the JWS layer of a parsed token: no crit header, a key
// from src that fits the alg (fetching once for an unknown kid), and a
// signature that verifies. The caller has checked alg against its allow-list.
func verifyJWS(ctx context.Context, t *parsedToken, src keySource) error {
	h := &t.header
	if h.Crit {
		// No extension is understood, so any crit must fail (RFC 7515 §4.1.11).
		return failf(ErrUnsupportedHeader, `"crit" header present; no extension is supported`)
	}
	if _, ok := algorithms[h.Alg]; !ok {
		return failf(ErrUnsupportedAlgorithm, "algorithm %s is not supported", quote(h.Alg))
	}
	set, err := src.keys(ctx)
	if err != nil {
		return err
	}
	var buf [maxKidlessTries]*verifyKey
	cands, known := set.candidates(h.Kid, h.Alg, buf[:0])
	if !known {
		if set, err = src.refresh(ctx, h.Kid); err != nil {
			return err
		}
		if cands, known = set.candidates(h.Kid, h.Alg, buf[:0]); !known {
			if h.Kid == "" {
				return failf(ErrUnknownKey, "no kid, and no key for %s (kids: %s)", h.Alg, quoteList(set.kids()))
			}
			return failf(ErrUnknownKey, "kid %s not in the key set (kids: %s)", quote(h.Kid), quoteList(set.kids()))
		}
	}
	if len(cands) == 0 {
		return failf(ErrUnsupportedAlgorithm, "key %s does not allow %s", quote(h.Kid), h.Alg)
	}
	signed := []byte(t.signingInput)
	for _, k := range cands {
		if jwsbb.Verify(k.key, h.Alg, signed, t.signature) == nil {
			return nil
		}
	}
	return failf(ErrSignature, "%s signature does not verify with %d candidate key(s)", h.Alg, len(cands))
}
