package jose

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
)

// Encrypted tokens (JWE, RFC 7516) carrying a signed JWT (RFC 7519 §5.2).
// Only key-management algorithms without known pitfalls are accepted:
// RSA1_5 is refused (Bleichenbacher padding oracles) and PBES2 is refused
// (its iteration count is a denial-of-service knob in the attacker's hand);
// compressed ("zip") content is refused (decompression bombs).

// keyManagement maps each accepted "alg" to the private key it needs.
var keyManagement = map[string]func(key any) bool{
	"RSA-OAEP":       isRSAPrivate,
	"RSA-OAEP-256":   isRSAPrivate,
	"RSA-OAEP-384":   isRSAPrivate,
	"RSA-OAEP-512":   isRSAPrivate,
	"ECDH-ES":        isECPrivate,
	"ECDH-ES+A128KW": isECPrivate,
	"ECDH-ES+A192KW": isECPrivate,
	"ECDH-ES+A256KW": isECPrivate,
	"A128KW":         isAESKey(16),
	"A192KW":         isAESKey(24),
	"A256KW":         isAESKey(32),
	"A128GCMKW":      isAESKey(16),
	"A192GCMKW":      isAESKey(24),
	"A256GCMKW":      isAESKey(32),
	"dir":            func(key any) bool { _, ok := key.([]byte); return ok },
}

// contentEncryption lists the accepted "enc" values with their key sizes
// (for "dir").
var contentEncryption = map[string]int{
	"A128GCM": 16, "A192GCM": 24, "A256GCM": 32,
	"A128CBC-HS256": 32, "A192CBC-HS384": 48, "A256CBC-HS512": 64,
}

func isRSAPrivate(k any) bool {
	pk, ok := k.(*rsa.PrivateKey)
	return ok && pk != nil && pk.N != nil && pk.N.BitLen() >= minRSABits && pk.N.BitLen() <= maxRSABits && pk.Validate() == nil
}

func isECPrivate(k any) bool {
	pk, ok := k.(*ecdsa.PrivateKey)
	if !ok || pk == nil || pk.Curve == nil || pk.D == nil || pk.X == nil || pk.Y == nil {
		return false
	}
	if _, err := pk.ECDH(); err != nil {
		return false
	}
	switch pk.Curve {
	case elliptic.P256(), elliptic.P384(), elliptic.P521():
		return true
	}
	return false
}

func isAESKey(n int) func(any) bool {
	return func(k any) bool { b, ok := k.([]byte); return ok && len(b) == n }
}

// DecryptKey is one private key for encrypted tokens.
type DecryptKey struct {
	Kid  string
	Algs []string // key-management algorithms it may be used with
	Enc  string   // for "dir" keys: the one content encryption they fit
	Key  any
}

// NewDecryptKey binds a private key to the key-management algorithms that
// fit it: alg if given, otherwise all of them. A "dir" key is named by its
// content encryption ("A256GCM").
func NewDecryptKey(kid, alg string, key any) (*DecryptKey, error) {
	if b, ok := key.([]byte); ok {
		key = append([]byte(nil), b...)
	}
	k := &DecryptKey{Kid: kid, Key: key}
	if size, ok := contentEncryption[alg]; ok { // a direct key, named by its enc
		if b, isBytes := key.([]byte); !isBytes || len(b) != size {
			return nil, fmt.Errorf("direct key for %s must be %d bytes", alg, size)
		}
		k.Algs, k.Enc = []string{"dir"}, alg
		return k, nil
	}
	if alg != "" {
		fits, ok := keyManagement[alg]
		if !ok {
			return nil, fmt.Errorf("key management algorithm %q not accepted", alg)
		}
		if !fits(key) {
			return nil, fmt.Errorf("key does not fit %s", alg)
		}
		k.Algs = []string{alg}
		return k, nil
	}
	for name, fits := range keyManagement {
		if name != "dir" && fits(key) {
			k.Algs = append(k.Algs, name)
		}
	}
	if len(k.Algs) == 0 {
		return nil, fmt.Errorf("unsupported decryption key %T", key)
	}
	return k, nil
}

// Decrypt opens a compact JWE and returns its plaintext. Every segment
// is decoded as strictly as a JWS's (unpadded base64url, zero trailing
// bits), so one token has one spelling: it cannot fill several cache
// entries or slip past a deny-list keyed on the string. The protected
// header is checked against the allow-lists before any cryptography, and
// a token costs at most one private-key operation: with several keys for
// its alg, its kid must pick one.
func Decrypt(token string, keys []*DecryptKey, requireNested bool) ([]byte, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 5 || parts[0] == "" || parts[2] == "" || parts[3] == "" || parts[4] == "" {
		return nil, malformed("JWE: not five segments, or an empty header, iv, ciphertext or tag")
	}
	var decoded [5][]byte
	for i, p := range parts {
		b, err := decodeString(p)
		if err != nil {
			return nil, malformed("JWE segment %d is not strict unpadded base64url", i+1)
		}
		decoded[i] = b
	}
	var h Header
	if err := ParseHeader(decoded[0], &h); err != nil {
		return nil, malformed("JWE %v", err)
	}
	if h.Enc == "" {
		return nil, malformed(`JWE header has no "enc"`)
	}
	switch {
	case h.Zip:
		return nil, refused("compressed JWE (zip) refused")
	case h.Crit:
		return nil, refused(`JWE "crit" header present; no extension is supported`)
	case keyManagement[h.Alg] == nil:
		return nil, refused("JWE key management %q not accepted", h.Alg)
	case contentEncryption[h.Enc] == 0:
		return nil, refused("JWE content encryption %q not accepted", h.Enc)
	case requireNested && !strings.EqualFold(h.Cty, "JWT"):
		return nil, refused(`JWE cty %q: only nested JWTs ("JWT") are accepted`, h.Cty)
	}
	// Direct key agreement carries no encrypted key (RFC 7516 §5.1 step 5);
	// the others must.
	if direct := h.Alg == "dir" || h.Alg == "ECDH-ES"; direct != (len(decoded[1]) == 0) {
		return nil, malformed("JWE encrypted key present for %s, or missing", h.Alg)
	}
	k := pickDecryptKey(keys, &h)
	if k == nil {
		return nil, refused("no single decryption key for %s (kid %q)", h.Alg, h.Kid)
	}
	alg, _ := jwa.LookupKeyEncryptionAlgorithm(h.Alg)
	pt, err := jwe.Decrypt([]byte(token), jwe.WithKey(alg, k.Key))
	if err != nil {
		return nil, refused("JWE does not decrypt")
	}
	return pt, nil
}

// pickDecryptKey returns the one key to try for a token, or nil. Among the
// keys that fit its alg (and enc, for dir), the token's kid picks; a token
// without a kid, or with one no key has, gets the only fitting key if
// there is exactly one.
func pickDecryptKey(keys []*DecryptKey, h *Header) *DecryptKey {
	var only *DecryptKey
	fitting := 0
	for _, k := range keys {
		if !slices.Contains(k.Algs, h.Alg) || (h.Alg == "dir" && k.Enc != h.Enc) {
			continue
		}
		if h.Kid != "" && k.Kid == h.Kid {
			return k
		}
		only = k
		fitting++
	}
	if fitting == 1 && (h.Kid == "" || only.Kid == "") {
		return only
	}
	return nil
}
