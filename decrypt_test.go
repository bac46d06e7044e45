package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
)

// encrypt wraps a signed token in a compact JWE, as an IdP with token
// encryption does.
func encrypt(t *testing.T, inner, alg, enc string, key any, cty string, zip bool) string {
	t.Helper()
	h := jwe.NewHeaders()
	if cty != "" {
		_ = h.Set("cty", cty)
	}
	keyAlg, ok := jwa.LookupKeyEncryptionAlgorithm(alg)
	if !ok {
		t.Fatalf("alg %s", alg)
	}
	contentAlg, _ := jwa.LookupContentEncryptionAlgorithm(enc)
	opts := []jwe.EncryptOption{jwe.WithKey(keyAlg, key), jwe.WithContentEncryption(contentAlg), jwe.WithProtectedHeaders(h)}
	if zip {
		opts = append(opts, jwe.WithCompress(jwa.Deflate()))
	}
	out, err := jwe.Encrypt([]byte(inner), opts...)
	if err != nil {
		t.Fatalf("encrypt %s/%s: %v", alg, enc, err)
	}
	return string(out)
}

func TestEncryptedTokens(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	aesKey := make([]byte, 32)
	_, _ = rand.Read(aesKey)
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)

	g := newGuard(t, iss,
		jwtguard.WithDecryptionKey("rsa", "", rsaKey),
		jwtguard.WithDecryptionKey("ec", "", ecKey),
		jwtguard.WithDecryptionKey("aes", "A256KW", aesKey),
		jwtguard.WithDecryptionKey("dir", "A256GCM", aesKey),
	)
	inner := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience})
	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"RSA-OAEP-256 + A256GCM", encrypt(t, inner, "RSA-OAEP-256", "A256GCM", &rsaKey.PublicKey, "JWT", false), nil},
		{"RSA-OAEP + A128CBC-HS256", encrypt(t, inner, "RSA-OAEP", "A128CBC-HS256", &rsaKey.PublicKey, "JWT", false), nil},
		{"ECDH-ES+A256KW + A256GCM", encrypt(t, inner, "ECDH-ES+A256KW", "A256GCM", &ecKey.PublicKey, "JWT", false), nil},
		{"ECDH-ES + A128GCM", encrypt(t, inner, "ECDH-ES", "A128GCM", &ecKey.PublicKey, "JWT", false), nil},
		{"A256KW + A256GCM", encrypt(t, inner, "A256KW", "A256GCM", aesKey, "JWT", false), nil},
		{"dir + A256GCM", encrypt(t, inner, "dir", "A256GCM", aesKey, "JWT", false), nil},
		{"plain signed token refused", inner, jwtguard.ErrEncryption},
		{"RSA1_5 refused", encrypt(t, inner, "RSA1_5", "A256GCM", &rsaKey.PublicKey, "JWT", false), jwtguard.ErrEncryption},
		{"compressed refused", encrypt(t, inner, "RSA-OAEP-256", "A256GCM", &rsaKey.PublicKey, "JWT", true), jwtguard.ErrEncryption},
		{"not a nested JWT (no cty)", encrypt(t, inner, "RSA-OAEP-256", "A256GCM", &rsaKey.PublicKey, "", false), jwtguard.ErrEncryption},
		{"encrypted to someone else", encrypt(t, inner, "RSA-OAEP-256", "A256GCM", &otherRSA.PublicKey, "JWT", false), jwtguard.ErrEncryption},
		{"inner signature broken", encrypt(t, tamper(inner), "RSA-OAEP-256", "A256GCM", &rsaKey.PublicKey, "JWT", false), jwtguard.ErrSignature},
		{"inner audience wrong", encrypt(t, iss.Sign(jwtguardtest.Claims{"aud": "other"}), "A256KW", "A256GCM", aesKey, "JWT", false), jwtguard.ErrAudience},
		{"inner not a JWS", encrypt(t, `{"sub":"alice"}`, "A256KW", "A256GCM", aesKey, "JWT", false), jwtguard.ErrMalformedToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := g.Authenticate(bearer(tc.token))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && c.Subject() != "alice" {
				t.Fatalf("claims %s", c.JSON())
			}
		})
	}

	// Migration mode takes both.
	mixed := newGuard(t, iss, jwtguard.WithDecryptionKey("", "", rsaKey), jwtguard.InsecureAllowUnencryptedTokens())
	if _, err := mixed.Authenticate(bearer(inner)); err != nil {
		t.Fatalf("plain token in migration mode: %v", err)
	}
	// Without a decryption key, an encrypted token is just malformed.
	if _, err := newGuard(t, iss).Authenticate(bearer(tests[0].token)); !errors.Is(err, jwtguard.ErrMalformedToken) {
		t.Fatalf("JWE without decryption key: %v", err)
	}
	for _, bad := range []jwtguard.Option{
		jwtguard.WithDecryptionKey("", "RSA1_5", rsaKey),
		jwtguard.WithDecryptionKey("", "PBES2-HS256+A128KW", []byte("password")),
		jwtguard.WithDecryptionKey("", "A256KW", []byte("short")),
		jwtguard.WithDecryptionKey("", "A256GCM", []byte("not 32 bytes")),
	} {
		if _, err := jwtguard.New(t.Context(), bad, jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience(audience)); !errors.Is(err, jwtguard.ErrConfig) {
			t.Errorf("bad decryption key accepted: %v", err)
		}
	}
}

// TestEncryptedHMACTokenCachedOnFirstUse: an HMAC token is cached on its
// second use only (verifying it again is cheap), but one inside a JWE is
// cached on its first: what a hit saves there is the decryption.
func TestEncryptedHMACTokenCachedOnFirstUse(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "HS256")
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	g, err := jwtguard.New(t.Context(), jwtguard.WithHMACSecret(iss.Secret()), jwtguard.WithIssuer(iss.URL),
		jwtguard.WithAudience(audience), jwtguard.WithDecryptionKey("rsa", "", rsaKey), jwtguard.InsecureAllowUnencryptedTokens())
	if err != nil {
		t.Fatal(err)
	}
	plain := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience})
	sealed := encrypt(t, iss.Sign(jwtguardtest.Claims{"sub": "bob", "aud": audience}), "RSA-OAEP", "A128GCM", &rsaKey.PublicKey, "JWT", false)
	for _, token := range []string{plain, sealed} {
		if _, err := g.Verify(t.Context(), token); err != nil {
			t.Fatal(err)
		}
	}
	if st := g.Status(); st.CacheSize != 1 {
		t.Fatalf("after one use of each: %d cached, want 1 (the JWE)", st.CacheSize)
	}
}
