package jose

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"strings"
	"time"
)

// MaxProofBytes bounds a DPoP proof (RFC 9449 §4.2): real ones are well
// under 2 KiB, even with an RSA key in the header.
const MaxProofBytes = 8 << 10

// ProofKey is a public key read from a JWK in a JWS header, with its
// RFC 7638 thumbprint.
type ProofKey struct {
	Key        *Key   // bound to every algorithm that fits it
	Thumbprint string // base64url(SHA-256(RFC 7638 canonical JSON))
}

// ParsePublicJWK reads a JWK that must hold a public key only: an EC key
// (P-256, P-384, P-521), an RSA key (2048 to 8192 bits) or an Ed25519 OKP
// key. A private member (d, p, q, dp, dq, qi, oth, k), a symmetric key,
// another kty or curve, a member of the wrong type and non-canonical
// base64url are all refused. The JSON goes through the strict scanner.
func ParsePublicJWK(raw []byte) (*ProofKey, error) {
	var kty, crv, x, y, n, e string
	var r ObjectReader
	r.Reset(raw)
	for {
		name, v, more := r.Next()
		if !more {
			break
		}
		var dst *string
		switch string(name) {
		case "kty":
			dst = &kty
		case "crv":
			dst = &crv
		case "x":
			dst = &x
		case "y":
			dst = &y
		case "n":
			dst = &n
		case "e":
			dst = &e
		case "d", "p", "q", "dp", "dq", "qi", "oth", "k":
			return nil, malformed("jwk holds private key material (%q)", name)
		default:
			continue // alg, kid, use, key_ops, x5c...: not used
		}
		if !readString(v, dst) {
			return nil, malformed("jwk member %q is not a string", name)
		}
	}
	if err := r.Err(); err != nil {
		return nil, malformed("jwk: %v", err)
	}
	var (
		pub   any
		canon string
	)
	switch kty {
	case "EC":
		var curve elliptic.Curve
		switch crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, malformed("jwk: unsupported curve %q", crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		xb, err1 := decodeString(x)
		yb, err2 := decodeString(y)
		if err1 != nil || err2 != nil || len(xb) != size || len(yb) != size {
			return nil, malformed("jwk: bad EC coordinates")
		}
		pub = &ecdsa.PublicKey{Curve: curve, X: new(big.Int).SetBytes(xb), Y: new(big.Int).SetBytes(yb)}
		canon = `{"crv":"` + crv + `","kty":"EC","x":"` + x + `","y":"` + y + `"}`
	case "RSA":
		nb, err1 := decodeString(n)
		eb, err2 := decodeString(e)
		if err1 != nil || err2 != nil || len(nb) == 0 || nb[0] == 0 || len(eb) == 0 || len(eb) > 4 || eb[0] == 0 {
			return nil, malformed("jwk: bad RSA modulus or exponent")
		}
		exp := 0
		for _, c := range eb {
			exp = exp<<8 | int(c)
		}
		pub = &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: exp}
		canon = `{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`
	case "OKP":
		xb, err := decodeString(x)
		if crv != "Ed25519" || err != nil || len(xb) != ed25519.PublicKeySize {
			return nil, malformed("jwk: only Ed25519 OKP keys")
		}
		pub = ed25519.PublicKey(xb)
		canon = `{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`
	default:
		return nil, malformed("jwk: unsupported kty %q", kty)
	}
	k, err := NewKey("", "", pub) // checks RSA size, the point on its curve
	if err != nil {
		return nil, malformed("jwk: %v", err)
	}
	sum := sha256.Sum256([]byte(canon))
	return &ProofKey{Key: k, Thumbprint: b64.EncodeToString(sum[:])}, nil
}

// Thumbprint returns the RFC 7638 thumbprint of a public JWK (base64url
// of the SHA-256 of its canonical JSON).
func Thumbprint(raw []byte) (string, error) {
	k, err := ParsePublicJWK(raw)
	if err != nil {
		return "", err
	}
	return k.Thumbprint, nil
}

// Proof is a DPoP proof (RFC 9449 §4.2) parsed and its signature checked
// with the key of its own jwk header; nothing else is checked here.
type Proof struct {
	Alg, Typ      string
	JWK           *ProofKey
	ID            string // jti
	Method        string // htm
	URI           string // htu
	IssuedAt      time.Time
	AccessHash    string // ath, "" when absent
	Nonce         string // "" when absent
	hasIat, hasID bool
}

// ErrProofSignature is returned by ParseProof for a signature that does not
// verify with the proof's own key.
var ErrProofSignature = errors.New("DPoP proof signature does not verify")

// ParseProof parses a compact DPoP proof strictly (the size bound, the
// compact alphabet, the strict JSON scanner for header, jwk and claims),
// checks that alg is one of algs and fits the jwk, and verifies the
// signature. typ, jti, htm, htu and iat must be present with their types;
// crit is refused.
func ParseProof(proof string, algs []string) (*Proof, error) {
	if len(proof) > MaxProofBytes {
		return nil, malformed("DPoP proof of %d bytes (limit %d)", len(proof), MaxProofBytes)
	}
	for i := 0; i < len(proof); i++ {
		if !base64urlOrDot(proof[i]) {
			return nil, malformed("DPoP proof byte %d is not base64url", i)
		}
	}
	h, rest, ok1 := strings.Cut(proof, ".")
	pl, sg, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(sg, '.') >= 0 || h == "" || sg == "" {
		return nil, malformed("DPoP proof is not a compact JWS")
	}
	buf := make([]byte, b64.DecodedLen(len(h))+b64.DecodedLen(len(pl))+b64.DecodedLen(len(sg)))
	decode := func(seg string) ([]byte, bool) {
		n, ok := decodeInto(buf, seg)
		if !ok {
			return nil, false
		}
		out := buf[:n:n]
		buf = buf[n:]
		return out, true
	}
	hb, ok := decode(h)
	if !ok {
		return nil, malformed("DPoP proof header is not strict base64url")
	}
	p := &Proof{}
	var jwkRaw []byte
	var r ObjectReader
	r.Reset(hb)
	for {
		name, v, more := r.Next()
		if !more {
			break
		}
		ok := true
		switch string(name) {
		case "alg":
			ok = readString(v, &p.Alg)
		case "typ":
			ok = readString(v, &p.Typ)
		case "jwk":
			ok = v.kind == Object
			jwkRaw = v.raw
		case "crit":
			return nil, malformed("DPoP proof has a crit header")
		}
		if !ok {
			return nil, malformed("DPoP proof header member %q has the wrong type", name)
		}
	}
	if err := r.Err(); err != nil {
		return nil, malformed("DPoP proof header: %v", err)
	}
	if !TypMatches(p.Typ, "dpop+jwt") {
		return nil, malformed("DPoP proof typ %q, not dpop+jwt", p.Typ)
	}
	alg, known := algorithms[p.Alg]
	if !known || strings.HasPrefix(p.Alg, "HS") || !contains(algs, p.Alg) {
		return nil, malformed("DPoP proof alg %q not accepted", p.Alg)
	}
	p.Alg = alg.name
	if jwkRaw == nil {
		return nil, malformed("DPoP proof has no jwk header")
	}
	jwk, err := ParsePublicJWK(jwkRaw)
	if err != nil {
		return nil, err
	}
	if !jwk.Key.Allows(p.Alg) {
		return nil, malformed("DPoP proof alg %s does not fit its jwk", p.Alg)
	}
	p.JWK = jwk
	payload, ok := decode(pl)
	if !ok {
		return nil, malformed("DPoP proof payload is not strict base64url")
	}
	sig, ok := decode(sg)
	if !ok {
		return nil, malformed("DPoP proof signature is not strict base64url")
	}
	// The signature before the claims are read: a forged proof costs no more.
	if !VerifySignature(jwk.Key.Key, p.Alg, stringBytes(proof[:len(h)+1+len(pl)]), sig) {
		return nil, ErrProofSignature
	}
	r.Reset(payload)
	for {
		name, v, more := r.Next()
		if !more {
			break
		}
		ok := true
		switch string(name) {
		case "jti":
			ok, p.hasID = readString(v, &p.ID), true
		case "htm":
			ok = readString(v, &p.Method)
		case "htu":
			ok = readString(v, &p.URI)
		case "iat":
			ok, p.hasIat = readDate(v, &p.IssuedAt), true
		case "ath":
			ok = readString(v, &p.AccessHash)
		case "nonce":
			ok = readString(v, &p.Nonce)
		}
		if !ok {
			return nil, malformed("DPoP proof claim %q has the wrong type", name)
		}
	}
	if err := r.Err(); err != nil {
		return nil, malformed("DPoP proof claims: %v", err)
	}
	switch {
	case !p.hasID || p.ID == "":
		return nil, malformed(`DPoP proof has no "jti"`)
	case len(p.ID) > 256:
		return nil, malformed(`DPoP proof "jti" longer than 256 bytes`)
	case p.Method == "":
		return nil, malformed(`DPoP proof has no "htm"`)
	case p.URI == "":
		return nil, malformed(`DPoP proof has no "htu"`)
	case !p.hasIat:
		return nil, malformed(`DPoP proof has no "iat"`)
	}
	return p, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
