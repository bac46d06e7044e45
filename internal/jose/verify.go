package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"math/big"
	"strings"
	"sync"
	"unsafe"
)

// Signatures are checked with the standard library directly: the digest
// on the stack, HMAC states pooled per key. It is the least work a
// verifier can do, so a token costs little more than its cryptography.

// VerifySignature checks a JWS signature over input with key (a public key
// or an HMAC secret) for alg. The caller has bound alg to the key's type.
func VerifySignature(key any, alg string, input, sig []byte) bool {
	// The digest's buffer is on the stack for PKCS #1 v1.5 and ECDSA, which
	// keep no reference to it; rsa.VerifyPSS may, so PSS gets one of its own.
	var buf [sha512.Size]byte
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch {
		case strings.HasPrefix(alg, "RS"):
			h, digest := digestFor(alg, input, &buf)
			return h != 0 && rsa.VerifyPKCS1v15(k, h, digest, sig) == nil
		case strings.HasPrefix(alg, "PS"):
			h, digest := digestFor(alg, input, new([sha512.Size]byte))
			return h != 0 && rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}) == nil
		}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if !strings.HasPrefix(alg, "ES") || len(sig) != 2*size {
			return false
		}
		h, digest := digestFor(alg, input, &buf)
		if h == 0 {
			return false
		}
		var r, s big.Int
		r.SetBytes(sig[:size])
		s.SetBytes(sig[size:])
		return ecdsa.Verify(k, digest, &r, &s)
	case ed25519.PublicKey:
		return (alg == "EdDSA" || alg == "Ed25519") && len(sig) == ed25519.SignatureSize && ed25519.Verify(k, input, sig)
	case []byte:
		return newHMACKey(k).verify(alg, input, sig)
	}
	return false
}

// verify checks sig with this key (its pooled HMAC states for a secret).
func (k *Key) verify(alg string, input, sig []byte) bool {
	if k.hmac != nil {
		return k.hmac.verify(alg, input, sig)
	}
	return VerifySignature(k.Key, alg, input, sig)
}

// digestFor hashes input for a SHA-2 algorithm of alg's size, into buf.
func digestFor(alg string, input []byte, buf *[sha512.Size]byte) (crypto.Hash, []byte) {
	if len(alg) != 5 {
		return 0, nil
	}
	switch alg[2:] {
	case "256":
		d := sha256.Sum256(input)
		return crypto.SHA256, buf[:copy(buf[:], d[:])]
	case "384":
		d := sha512.Sum384(input)
		return crypto.SHA384, buf[:copy(buf[:], d[:])]
	case "512":
		*buf = sha512.Sum512(input)
		return crypto.SHA512, buf[:]
	}
	return 0, nil
}

// hmacKey is an HMAC secret with a pool of ready states per hash, so a
// verification allocates nothing.
type hmacKey struct {
	secret []byte
	pools  [3]sync.Pool // of *hmacState: SHA-256, SHA-384, SHA-512
}

type hmacState struct {
	mac hash.Hash
	sum [sha512.Size]byte
}

func newHMACKey(secret []byte) *hmacKey {
	k := &hmacKey{secret: secret}
	for i, h := range []func() hash.Hash{sha256.New, sha512.New384, sha512.New} {
		k.pools[i].New = func() any { return &hmacState{mac: hmac.New(h, k.secret)} }
	}
	return k
}

func (k *hmacKey) verify(alg string, input, sig []byte) bool {
	i := -1
	switch alg {
	case "HS256":
		i = 0
	case "HS384":
		i = 1
	case "HS512":
		i = 2
	}
	if i < 0 {
		return false
	}
	st := k.pools[i].Get().(*hmacState)
	st.mac.Reset()
	st.mac.Write(input)
	ok := hmac.Equal(st.mac.Sum(st.sum[:0]), sig)
	k.pools[i].Put(st)
	return ok
}

// stringBytes views s as bytes without copying; the bytes must not be
// written (the signature functions only read their input).
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
