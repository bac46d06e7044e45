package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

func TestThumbprintRFC7638(t *testing.T) {
	t.Parallel()
	const key = `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	got, err := Thumbprint([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("thumbprint %s, want %s", got, want)
	}
}

// TestThumbprintAgreesWithJWX checks every key type against jwx's own
// RFC 7638 implementation, with fresh keys.
func TestThumbprintAgreesWithJWX(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for _, raw := range []any{ec.Public(), rs.Public(), ed.Public()} {
		k, err := jwk.Import(raw)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := k.Thumbprint(crypto.SHA256)
		doc, _ := json.Marshal(k)
		got, err := Thumbprint(doc)
		if err != nil {
			t.Fatalf("%T: %v", raw, err)
		}
		if got != base64.RawURLEncoding.EncodeToString(want) {
			t.Fatalf("%T: thumbprint differs from jwx's", raw)
		}
	}
}

func TestParsePublicJWKRefuses(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k, _ := jwk.Import(ec)
	private, _ := json.Marshal(k)
	for name, doc := range map[string]string{
		"private EC key": string(private),
		"oct":            `{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"}`,
		"unknown kty":    `{"kty":"XYZ"}`,
		"x not a string": `{"kty":"OKP","crv":"Ed25519","x":1}`,
		"short x":        `{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`,
		"X25519":         `{"kty":"OKP","crv":"X25519","x":"` + strings.Repeat("A", 43) + `"}`,
		"point off curve": `{"kty":"EC","crv":"P-256","x":"` + strings.Repeat("A", 43) + `","y":"` +
			strings.Repeat("A", 42) + `E"}`,
		"duplicate member": `{"kty":"OKP","kty":"OKP"}`,
		"small RSA":        `{"kty":"RSA","n":"AQAB","e":"AQAB"}`,
	} {
		if _, err := ParsePublicJWK([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
