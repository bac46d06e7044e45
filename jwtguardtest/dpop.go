package jwtguardtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"maps"
	"testing"
	"time"
)

// DPoPKey is a DPoP client's key pair (P-256, ES256), for tests of
// DPoP-protected handlers and token endpoints: it signs proofs (RFC 9449
// §4.2) as a client would, with the standard library alone. Bind a token
// to it with the claim "cnf": {"jkt": key.Thumbprint()}.
type DPoPKey struct {
	priv       *ecdsa.PrivateKey
	jwk        map[string]any
	thumbprint string
}

// NewDPoPKey returns a fresh key; it fails tb if the key cannot be made.
func NewDPoPKey(tb testing.TB) *DPoPKey {
	tb.Helper()
	k, err := newDPoPKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// GenerateDPoPKey is NewDPoPKey for code without a testing.TB, such as
// examples.
func GenerateDPoPKey() (*DPoPKey, error) { return newDPoPKey() }

func newDPoPKey() (*DPoPKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	pub, err := priv.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	x, y := b64(pub[1:33]), b64(pub[33:])
	// RFC 7638: the required members, in lexicographic order, no spaces.
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return &DPoPKey{priv: priv, jwk: map[string]any{"kty": "EC", "crv": "P-256", "x": x, "y": y}, thumbprint: b64(sum[:])}, nil
}

// Thumbprint is the key's RFC 7638 thumbprint: a bound token's cnf.jkt.
func (k *DPoPKey) Thumbprint() string { return k.thumbprint }

// JWK returns the public key as a JWK (a copy).
func (k *DPoPKey) JWK() map[string]any { return maps.Clone(k.jwk) }

// Proof signs a proof for method and url, issued now, with a random jti;
// with a token (not ""), its ath is the token's hash, as resource servers
// want (a token endpoint's proof has none).
func (k *DPoPKey) Proof(method, url, token string) string {
	return k.ProofWith(method, url, token, nil)
}

// ProofWith is Proof with edit run on the header and claims before they
// are signed: to set a nonce or an iat, or to make a hostile proof.
func (k *DPoPKey) ProofWith(method, url, token string, edit func(header, claims map[string]any)) string {
	header := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.JWK()}
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": url, "iat": time.Now().Unix()}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		claims["ath"] = b64(sum[:])
	}
	if edit != nil {
		edit(header, claims)
	}
	h, err := json.Marshal(header)
	if err != nil {
		panic(err) // edit put a value JSON cannot hold: the test's mistake
	}
	c, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	input := b64(h) + "." + b64(c)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, digest[:])
	if err != nil {
		panic(err) // crypto/rand failed
	}
	sig := make([]byte, 64) // JWS: r || s, 32 bytes each (RFC 7518 §3.4)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}
