package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Limits on key material, so a hostile or broken JWKS cannot cost much.
const (
	maxKeysPerSet    = 100  // keys past this are skipped
	minRSABits       = 2048 // RFC 7518 §3.3
	maxRSABits       = 8192 // larger keys make each verify a DoS
	MaxKidlessTries  = 4    // a token without kid is tried against at most this many keys
	minHMACSecretLen = 32   // bytes; RFC 7518 §3.2 for HS256
	MaxDocumentBytes = 1 << 20
)

// algorithm describes one JWS algorithm and the key it needs. Binding every
// alg to a key type is what makes alg confusion (RS256→HS256, none) impossible.
type algorithm struct {
	name  string
	fits  func(key any) bool
	order int
}

func isRSA(k any) bool { _, ok := k.(*rsa.PublicKey); return ok }
func isEd25519(k any) bool {
	pk, ok := k.(ed25519.PublicKey)
	return ok && len(pk) == ed25519.PublicKeySize
}
func isCurve(c elliptic.Curve) func(any) bool {
	return func(k any) bool { pk, ok := k.(*ecdsa.PublicKey); return ok && pk.Curve == c }
}
func isSecret(min int) func(any) bool {
	return func(k any) bool { s, ok := k.([]byte); return ok && len(s) >= min }
}

// algorithms is every algorithm the guard can verify. "none" is not here and
// cannot be added.
var algorithms = map[string]algorithm{
	"RS256":   {"RS256", isRSA, 0},
	"RS384":   {"RS384", isRSA, 1},
	"RS512":   {"RS512", isRSA, 2},
	"PS256":   {"PS256", isRSA, 3},
	"PS384":   {"PS384", isRSA, 4},
	"PS512":   {"PS512", isRSA, 5},
	"ES256":   {"ES256", isCurve(elliptic.P256()), 6},
	"ES384":   {"ES384", isCurve(elliptic.P384()), 7},
	"ES512":   {"ES512", isCurve(elliptic.P521()), 8},
	"EdDSA":   {"EdDSA", isEd25519, 9},
	"Ed25519": {"Ed25519", isEd25519, 10}, // RFC 9864 fully-specified name
	"HS256":   {"HS256", isSecret(32), 11},
	"HS384":   {"HS384", isSecret(48), 12},
	"HS512":   {"HS512", isSecret(64), 13},
}

// Key is one trusted key, ready to verify with.
type Key struct {
	Kid  string
	Algs []string // the algorithms this key may verify, in table order
	Key  any      // *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or []byte
	hmac *hmacKey // for a []byte secret
}

// Allows reports whether the key may verify alg.
func (k *Key) Allows(alg string) bool { return slices.Contains(k.Algs, alg) }

// KeySet is an immutable, indexed set of keys. It is rebuilt, never changed,
// when keys are refreshed, so lookups need no lock.
type KeySet struct {
	Keys  []*Key
	byKid map[string][]*Key
	any   []*Key // keys without a kid: candidates for any token
}

// NewKeySet indexes keys by kid.
func NewKeySet(keys []*Key) *KeySet {
	s := &KeySet{Keys: keys, byKid: make(map[string][]*Key, len(keys))}
	for _, k := range keys {
		if k.Kid == "" {
			s.any = append(s.any, k)
			continue
		}
		s.byKid[k.Kid] = append(s.byKid[k.Kid], k)
	}
	return s
}

// candidates returns the keys that may verify a token with this kid and
// alg, and whether the kid is known at all.
func (s *KeySet) Candidates(kid, alg string, dst []*Key) (_ []*Key, kidKnown bool) {
	if s == nil {
		return dst, false
	}
	if kid != "" {
		list, ok := s.byKid[kid]
		for _, k := range list {
			if k.Allows(alg) {
				dst = append(dst, k)
			}
		}
		if ok {
			return dst, true
		}
		for _, k := range s.any {
			if k.Allows(alg) && len(dst) < MaxKidlessTries {
				dst = append(dst, k)
			}
		}
		return dst, len(dst) > 0
	}
	for _, k := range s.Keys {
		if k.Allows(alg) && len(dst) < MaxKidlessTries {
			dst = append(dst, k)
		}
	}
	return dst, len(dst) > 0
}

// subsetOf reports whether every key of s is also in t, unchanged.
func (s *KeySet) SubsetOf(t *KeySet) bool {
	for _, k := range s.Keys {
		if !slices.ContainsFunc(t.Keys, k.Equal) {
			return false
		}
	}
	return true
}

// Equal reports whether two keys are the same key for the same algorithms.
func (k *Key) Equal(o *Key) bool {
	if k.Kid != o.Kid || !slices.Equal(k.Algs, o.Algs) {
		return false
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	switch a := k.Key.(type) {
	case []byte:
		b, ok := o.Key.([]byte)
		return ok && subtle.ConstantTimeCompare(a, b) == 1
	case equaler:
		return a.Equal(o.Key)
	}
	return false
}

// kids lists the key IDs, for status reports.
func (s *KeySet) Kids() []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.Keys))
	for _, k := range s.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// NewKey checks a raw key and binds it to algorithms: the one named
// (which must fit the key), or every algorithm that fits it.
func NewKey(kid, alg string, raw any) (*Key, error) {
	key, err := publicPart(raw)
	if err != nil {
		return nil, err
	}
	k := &Key{Kid: kid, Key: key}
	if secret, ok := key.([]byte); ok {
		k.hmac = newHMACKey(secret)
	}
	if alg != "" {
		a, ok := algorithms[alg]
		if !ok {
			return nil, fmt.Errorf("unsupported alg %q", alg)
		}
		if !a.fits(key) {
			return nil, fmt.Errorf("alg %q does not fit the key", alg)
		}
		k.Algs = []string{alg}
		return k, nil
	}
	for _, a := range sortedAlgorithms() {
		if a.fits(key) {
			k.Algs = append(k.Algs, a.name)
		}
	}
	if len(k.Algs) == 0 {
		return nil, errors.New("no algorithm fits the key")
	}
	return k, nil
}

func sortedAlgorithms() []algorithm {
	out := make([]algorithm, 0, len(algorithms))
	for _, a := range algorithms {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b algorithm) int { return a.order - b.order })
	return out
}

// publicPart returns the public key of raw and checks its strength.
func publicPart(raw any) (any, error) {
	switch k := raw.(type) {
	case *rsa.PrivateKey:
		if k == nil {
			return nil, errors.New("nil RSA key")
		}
		return publicPart(&k.PublicKey)
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return nil, errors.New("empty RSA key")
		}
		bits := k.N.BitLen()
		if bits < minRSABits || bits > maxRSABits {
			return nil, fmt.Errorf("RSA key of %d bits (need %d to %d)", bits, minRSABits, maxRSABits)
		}
		if k.E < 3 || k.E%2 == 0 {
			return nil, fmt.Errorf("RSA exponent %d", k.E)
		}
		if rocaVulnerable(k.N) {
			return nil, errors.New("RSA key has the ROCA weakness (CVE-2017-15361)")
		}
		return k, nil
	case *ecdsa.PrivateKey:
		if k == nil {
			return nil, errors.New("nil EC key")
		}
		return publicPart(&k.PublicKey)
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil || k.X == nil || k.Y == nil {
			return nil, errors.New("empty EC key")
		}
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return nil, errors.New("unsupported curve")
		}
		// Round-trip through crypto/ecdh-checked encoding: rejects points off the curve.
		if _, err := k.ECDH(); err != nil {
			return nil, errors.New("EC point not on curve")
		}
		return k, nil
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, errors.New("bad Ed25519 private key length")
		}
		return publicPart(k.Public())
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 key length")
		}
		if smallOrderEd25519(k) {
			return nil, errors.New("Ed25519 key of small order (one signature would verify for every message)")
		}
		return k, nil
	case []byte:
		if len(k) < minHMACSecretLen {
			return nil, fmt.Errorf("HMAC secret of %d bytes (need at least %d)", len(k), minHMACSecretLen)
		}
		return slices.Clone(k), nil
	default:
		return nil, fmt.Errorf("unsupported key type %T", raw)
	}
}

// ParseJWKSet parses a JWK Set. One bad key never sinks the set: it is
// skipped and reported in skipped. Symmetric keys are only taken when
// allowSecret (a fetched JWKS is public, so a secret in it is a leak).
func ParseJWKSet(data []byte, allowSecret bool) (set *KeySet, skipped []error, err error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := CheckJSON(data); err != nil {
		return nil, nil, fmt.Errorf("not a JWK Set: %v", err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, errors.New("not a JWK Set: invalid JSON")
	}
	if doc.Keys == nil {
		return nil, nil, errors.New(`not a JWK Set: no "keys" array`)
	}
	var keys []*Key
	for i, raw := range doc.Keys {
		if i >= maxKeysPerSet {
			skipped = append(skipped, fmt.Errorf("keys past the first %d ignored", maxKeysPerSet))
			break
		}
		k, err := ParseJWK(raw, allowSecret)
		if errors.Is(err, errNotForSignatures) {
			continue // encryption keys are normal in an IdP's set (Keycloak, Entra): not a problem
		}
		if err != nil {
			skipped = append(skipped, fmt.Errorf("key %d: %v", i, err))
			continue
		}
		keys = append(keys, k)
	}
	// Two keys that share a kid and an algorithm are ambiguous: neither is
	// used, whatever their order.
	var kept []*Key
	for i, k := range keys {
		if k.Kid != "" && (duplicate(keys[:i], k) || duplicate(keys[i+1:], k)) {
			skipped = append(skipped, fmt.Errorf("kid %q names two keys for the same algorithm; neither is used", k.Kid))
			continue
		}
		kept = append(kept, k)
	}
	return NewKeySet(kept), skipped, nil
}

// ParseStaticJWKSet parses a JWK Set given in configuration, where every
// problem is an error: a bad or ambiguous key, or secrets mixed with
// public keys (a token could then pick which kind verifies it).
func ParseStaticJWKSet(doc []byte) (*KeySet, error) {
	set, skipped, err := ParseJWKSet(doc, true)
	if err != nil {
		return nil, err
	}
	if len(skipped) > 0 {
		return nil, fmt.Errorf("JWK Set: %w", errors.Join(skipped...))
	}
	secrets := 0
	for _, k := range set.Keys {
		if _, ok := k.Key.([]byte); ok {
			secrets++
		}
	}
	if secrets > 0 && secrets < len(set.Keys) {
		return nil, errors.New("JWK Set mixes secret and public keys")
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("JWK Set has no keys")
	}
	return set, nil
}

// duplicate reports whether an earlier key has k's kid and shares an algorithm.
func duplicate(keys []*Key, k *Key) bool {
	for _, prev := range keys {
		if prev.Kid != k.Kid {
			continue
		}
		for _, a := range k.Algs {
			if prev.Allows(a) {
				return true
			}
		}
	}
	return false
}

// errNotForSignatures marks a key whose use or key_ops excludes verifying.
var errNotForSignatures = errors.New(`key not for signatures ("use" or "key_ops")`)

// ParseJWK parses one JWK into a verification key; secrets only when
// allowSecret, never private keys from a public set.
func ParseJWK(raw []byte, allowSecret bool) (*Key, error) {
	var hdr struct {
		Kty    string   `json:"kty"`
		Use    *string  `json:"use"`
		KeyOps []string `json:"key_ops"`
		Alg    *string  `json:"alg"`
		Kid    *string  `json:"kid"`
	}
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return nil, errors.New("malformed JWK")
	}
	if hdr.Use != nil && *hdr.Use != "sig" {
		return nil, errNotForSignatures
	}
	if hdr.KeyOps != nil && !slices.Contains(hdr.KeyOps, "verify") {
		return nil, errNotForSignatures
	}
	if hdr.Kty == "oct" && !allowSecret {
		return nil, errors.New("symmetric key in a public key set")
	}
	if !allowSecret {
		// A fetched set is public: a private key in it has leaked, and
		// anyone may have signed with it.
		var private map[string]json.RawMessage
		if err := json.Unmarshal(raw, &private); err != nil {
			return nil, errors.New("malformed JWK")
		}
		for _, m := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := private[m]; ok {
				return nil, fmt.Errorf("private key material (%q) in a public key set", m)
			}
		}
	}
	key, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid %s key: %v", hdr.Kty, err)
	}
	var exported any
	if err := jwk.Export(key, &exported); err != nil {
		return nil, fmt.Errorf("invalid %s key: %v", hdr.Kty, err)
	}
	var kid, alg string
	if hdr.Kid != nil {
		kid = *hdr.Kid
	}
	if hdr.Alg != nil {
		alg = *hdr.Alg
		if alg == "" {
			return nil, errors.New("empty alg")
		}
	}
	return NewKey(kid, alg, exported)
}

// ParsePEM reads public keys, certificates, or private keys (of which
// only the public half is kept) from PEM data.
func ParsePEM(data []byte) ([]any, error) {
	var out []any
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var (
			k   any
			err error
		)
		switch block.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(block.Bytes); err == nil {
				k = c.PublicKey
			}
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			err = fmt.Errorf("unsupported PEM block %q", block.Type)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM key found")
	}
	return out, nil
}

// rocaPrimes are the small primes of the ROCA fingerprint (Nemec et al., 2017).
var rocaPrimes = []int64{3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73,
	79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167}

// rocaVulnerable reports whether n was made by the flawed Infineon
// generator: n mod p lies in the subgroup generated by 65537 for every p.
func rocaVulnerable(n *big.Int) bool {
	var r big.Int
	for _, p := range rocaPrimes {
		m := r.Mod(n, big.NewInt(p)).Int64()
		g, x, found := 65537%p, int64(1), false
		for range p {
			if x == m {
				found = true
				break
			}
			x = x * g % p
		}
		if !found {
			return false
		}
	}
	return true
}

// KnownAlgorithm reports whether alg is one that can be verified.
func KnownAlgorithm(alg string) bool {
	_, ok := algorithms[alg]
	return ok
}

// AlgorithmNames lists every algorithm that can be verified, in a fixed
// order (RSA, RSA-PSS, ECDSA, EdDSA, HMAC).
func AlgorithmNames() []string {
	var out []string
	for _, a := range sortedAlgorithms() {
		out = append(out, a.name)
	}
	return out
}

// Verification failures of [KeySet.Verify].
var (
	ErrCrit         = errors.New(`"crit" header present; no extension is supported`)
	ErrAlgorithm    = errors.New("algorithm not supported, or no key allows it")
	ErrUnknownKey   = errors.New("no key for the token's kid")
	ErrBadSignature = errors.New("signature does not verify")
)

// Verify checks t's JWS layer against the keys of s: no crit header, a
// known alg, a key that the kid names (or, without a kid, up to
// MaxKidlessTries keys) bound to that alg, and a signature that verifies
// with one of them. ErrUnknownKey means the kid is not in s, and a fresher
// key set may know it.
func (s *KeySet) Verify(t *Token) error { return s.VerifySignature(t, t.Signature) }

// VerifySignature is Verify with the signature apart from t, as
// ParseCompactInto returns it: it never escapes, so it may live on the
// caller's stack.
func (s *KeySet) VerifySignature(t *Token, sig []byte) error {
	h := &t.Header
	if h.Crit {
		return ErrCrit // no extension is understood, so any crit must fail (RFC 7515 §4.1.11)
	}
	if !KnownAlgorithm(h.Alg) {
		return ErrAlgorithm
	}
	var buf [MaxKidlessTries]*Key
	cands, known := s.Candidates(h.Kid, h.Alg, buf[:0])
	if !known {
		return ErrUnknownKey
	}
	if len(cands) == 0 {
		return ErrAlgorithm
	}
	signed := stringBytes(t.SigningInput)
	for _, k := range cands {
		if k.verify(h.Alg, signed, sig) {
			return nil
		}
	}
	return ErrBadSignature
}

// smallOrderEd25519 reports whether pub encodes a point of order 1, 2, 4
// or 8, canonically or not (y >= p), with either sign bit: libsodium's
// list. For such a key a fixed signature verifies for any message.
func smallOrderEd25519(pub []byte) bool {
	var y [32]byte
	copy(y[:], pub)
	y[31] &= 0x7f // the sign of x
	for _, s := range ed25519SmallOrder {
		if string(y[:]) == s {
			return true
		}
	}
	return false
}

var ed25519SmallOrder = func() []string {
	hexes := []string{
		"0000000000000000000000000000000000000000000000000000000000000000", // order 4
		"0100000000000000000000000000000000000000000000000000000000000000", // the identity
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p-1, order 2
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p, that is 0
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p+1, that is 1
	}
	out := make([]string, len(hexes))
	for i, h := range hexes {
		b, err := hex.DecodeString(h)
		if err != nil {
			panic(err)
		}
		out[i] = string(b)
	}
	return out
}()
