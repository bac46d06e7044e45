package jose

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
)

func TestROCADetection(t *testing.T) {
	t.Parallel()
	file := loadWycheproof(t, "json_web_key_test.json")
	found := false
	for _, g := range file.TestGroups {
		if g.Comment != "jws_rsa_roca_key" {
			continue
		}
		found = true
		_, err := ParseStaticJWKSet(g.Public)
		if err == nil || !strings.Contains(err.Error(), "ROCA") {
			t.Fatalf("ROCA key: err = %v, want a ROCA refusal", err)
		}
	}
	if !found {
		t.Fatal("ROCA vector not found")
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if rocaVulnerable(k.N) {
		t.Fatal("fresh key flagged as ROCA")
	}
}

func TestParseJWKSetTolerance(t *testing.T) {
	t.Parallel()
	good := `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"good"}`
	tests := []struct {
		name        string
		doc         string
		wantKids    []string
		wantSkipped int
		wantErr     bool
	}{
		{"one good", `{"keys":[` + good + `]}`, []string{"good"}, 0, false},
		{"bad key skipped", `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"tiny"},` + good + `]}`, []string{"good"}, 1, false},
		{"enc key ignored quietly", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"e","use":"enc"},` + good + `]}`, []string{"good"}, 0, false},
		{"key_ops without verify ignored quietly", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"e","key_ops":["encrypt"]},` + good + `]}`, []string{"good"}, 0, false},
		{"alg conflicts with kty", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"c","alg":"RS256"},` + good + `]}`, []string{"good"}, 1, false},
		{"secret in public set skipped", `{"keys":[{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","kid":"s"},` + good + `]}`, []string{"good"}, 1, false},
		{"duplicate kid: neither used", `{"keys":[` + good + `,` + good + `]}`, nil, 2, false},
		{"unknown kty skipped", `{"keys":[{"kty":"XYZ","kid":"x"},` + good + `]}`, []string{"good"}, 1, false},
		{"not an object", `[]`, nil, 0, true},
		{"no keys", `{}`, nil, 0, true},
		{"keys not an array", `{"keys":{}}`, nil, 0, true},
		{"junk", `{"keys":[1,"x",null,{}]}`, nil, 4, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set, skipped, err := ParseJWKSet([]byte(tc.doc), false)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if got := set.Kids(); strings.Join(got, ",") != strings.Join(tc.wantKids, ",") {
				t.Errorf("kids = %v, want %v", got, tc.wantKids)
			}
			if len(skipped) != tc.wantSkipped {
				t.Errorf("skipped = %v, want %d", skipped, tc.wantSkipped)
			}
		})
	}
}

// TestSmallOrderEd25519Refused: a small-order Ed25519 key (here the
// identity, for which R = identity, S = 0 verifies every message) is no key.
func TestSmallOrderEd25519Refused(t *testing.T) {
	t.Parallel()
	identity := make([]byte, 32)
	identity[0] = 1
	sig := make([]byte, 64)
	copy(sig, identity)
	if !ed25519.Verify(identity, []byte("any message"), sig) {
		t.Fatal("the premise: the identity key verifies a constant signature")
	}
	order8 := []byte{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
		0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0xfa} // sign bit set
	for name, pub := range map[string][]byte{"identity": identity, "order 8, sign bit set": order8} {
		if _, err := NewKey("", "", ed25519.PublicKey(pub)); err == nil {
			t.Errorf("%s: NewKey accepted a small-order key", name)
		}
		jwk := `{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
		if _, err := ParsePublicJWK([]byte(jwk)); err == nil {
			t.Errorf("%s: ParsePublicJWK accepted a small-order key", name)
		}
	}
	good, _, _ := ed25519.GenerateKey(nil)
	if _, err := NewKey("", "", good); err != nil {
		t.Errorf("a generated key: %v", err)
	}
}
