package jose

import (
	"crypto/rand"
	"crypto/rsa"
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
