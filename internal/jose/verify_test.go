package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"testing"
)

// TestVerifySignatureAllocatesNoMoreThanTheStandardLibrary: the digest and
// everything else of ours stay on the stack, so a verification allocates
// exactly what the standard library's own check does. Not parallel:
// AllocsPerRun needs the process to itself.
func TestVerifySignatureAllocatesNoMoreThanTheStandardLibrary(t *testing.T) {
	input := []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9")
	digest := sha256.Sum256(input)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSig, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r, s, err := ecdsa.Sign(rand.Reader, ecKey, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	ecSig := make([]byte, 64)
	r.FillBytes(ecSig[:32])
	s.FillBytes(ecSig[32:])
	tests := []struct {
		alg    string
		key    any
		sig    []byte
		stdlib func() bool
	}{
		{"RS256", &rsaKey.PublicKey, rsaSig, func() bool {
			d := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(&rsaKey.PublicKey, crypto.SHA256, d[:], rsaSig) == nil
		}},
		{"ES256", &ecKey.PublicKey, ecSig, func() bool {
			d := sha256.Sum256(input)
			var r, s big.Int
			return ecdsa.Verify(&ecKey.PublicKey, d[:], r.SetBytes(ecSig[:32]), s.SetBytes(ecSig[32:]))
		}},
	}
	// An alg of another family never verifies with the key, whatever its
	// digest size (the callers bind alg to the key; this holds without them).
	for _, alg := range []string{"RS256", "PS256", "HS256", "EdDSA", "XS256", "", "E"} {
		if VerifySignature(&ecKey.PublicKey, alg, input, ecSig) {
			t.Errorf("an ES256 signature verified as %q", alg)
		}
		if alg != "RS256" && VerifySignature(&rsaKey.PublicKey, alg, input, rsaSig) {
			t.Errorf("an RS256 signature verified as %q", alg)
		}
	}
	for _, tc := range tests {
		if !VerifySignature(tc.key, tc.alg, input, tc.sig) || !tc.stdlib() {
			t.Fatalf("%s: the signature does not verify", tc.alg)
		}
		ours := testing.AllocsPerRun(20, func() { VerifySignature(tc.key, tc.alg, input, tc.sig) })
		theirs := testing.AllocsPerRun(20, func() { tc.stdlib() })
		if ours > theirs {
			t.Errorf("%s: VerifySignature allocates %v times, the standard library's check alone %v", tc.alg, ours, theirs)
		}
	}
}
