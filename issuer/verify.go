package issuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"

	"github.com/jwtguard/jwtguard"
)

// maxOwnToken bounds what verifyOwn looks at: the issuer's tokens are far
// smaller, and the input is a cookie anyone can send.
const maxOwnToken = 8 << 10

// verifyOwn returns the claims of token if this issuer signed it, with a key
// it still publishes, and it has not expired. [Sessions] trusts an access
// token's sid only this far: an unverified sid could name anyone's session.
//
// The signature is checked against each published key (one, or a few during
// rotation) before anything of the token is parsed. These keys sign nothing
// but [Issuer.Issue]'s tokens, so a token that verifies has the header Issue
// wrote, and the key's type fixes the algorithm.
func (iss *Issuer) verifyOwn(token string) (*jwtguard.Claims, bool) {
	if len(token) > maxOwnToken || strings.Count(token, ".") != 2 {
		return nil, false
	}
	dot := strings.LastIndexByte(token, '.')
	input := token[:dot]
	enc := base64.RawURLEncoding.Strict()
	sig, err := enc.DecodeString(token[dot+1:])
	if err != nil {
		return nil, false
	}
	now := iss.now()
	iss.mu.Lock()
	iss.pruneLocked(now)
	keys := append([]*signingKey{iss.current}, iss.retired...)
	iss.mu.Unlock()
	signed := false
	for _, k := range keys {
		if verifySignature(k.priv.Public(), []byte(input), sig) {
			signed = true
			break
		}
	}
	if !signed {
		return nil, false
	}
	payload, err := enc.DecodeString(input[strings.IndexByte(input, '.')+1:])
	if err != nil {
		return nil, false
	}
	c, err := jwtguard.ClaimsFromJSON(payload)
	if err != nil || c.Issuer() != iss.url || !now.Before(c.ExpiresAt()) {
		return nil, false
	}
	return c, true
}

// verifySignature checks a JWS signature: ES256 (r || s, 32 bytes each) or
// EdDSA, by the type of pub.
func verifySignature(pub crypto.PublicKey, input, sig []byte) bool {
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		if len(sig) != 64 {
			return false
		}
		h := sha256.Sum256(input)
		return ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	case ed25519.PublicKey:
		return ed25519.Verify(pub, input, sig)
	}
	return false
}
