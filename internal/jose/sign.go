package jose

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// Sign returns the compact JWS of payload, signed with key (a crypto.Signer
// or an HMAC secret) for alg, with header as the protected header (alg is
// set from the argument).
func Sign(key any, alg string, header map[string]any, payload []byte) (string, error) {
	h := make(map[string]any, len(header)+1)
	for k, v := range header {
		h[k] = v
	}
	h["alg"] = alg
	hb, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(payload)
	sig, err := jwsbb.Sign(key, alg, []byte(input), rand.Reader)
	if err != nil {
		return "", err
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// PublicJWK is one entry of a published key set.
type PublicJWK struct {
	Kid string
	Alg string // "" leaves alg out
	Key crypto.PublicKey
}

// JWKS renders a public JWK Set (use "sig") of keys.
func JWKS(keys []PublicJWK) ([]byte, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		if k.Key == nil {
			return nil, errors.New("nil public key")
		}
		key, err := jwk.Import(k.Key)
		if err != nil {
			return nil, err
		}
		attrs := map[string]string{jwk.KeyIDKey: k.Kid, jwk.KeyUsageKey: "sig"}
		if k.Alg != "" {
			attrs[jwk.AlgorithmKey] = k.Alg
		}
		for name, v := range attrs {
			if err := key.Set(name, v); err != nil {
				return nil, err
			}
		}
		if err := set.AddKey(key); err != nil {
			return nil, err
		}
	}
	return json.Marshal(set)
}

// SignInput signs a JWS signing input (header "." payload, base64url) as it
// is, for callers that build odd headers on purpose (hostile tests).
func SignInput(key any, alg string, input []byte) ([]byte, error) {
	return jwsbb.Sign(key, alg, input, rand.Reader)
}
