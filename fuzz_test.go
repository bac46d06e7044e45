package jwtguard

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/internal/fuzzcost"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "Bearer", "Bearer  x==", "Basic x", "", "Bearer a b", "BEARER ~+/=", "Bearer =x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := &http.Request{Header: http.Header{"Authorization": {v}}}
		var (
			token string
			err   error
		)
		fuzzcost.Check(t, len(v), func() { token, err = bearerToken(r) })
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if token != "" && (!b64TokenRegexp.MatchString(token) || !strings.HasSuffix(v, token)) {
			t.Fatalf("token %q from %q breaks the b64token grammar", token, v)
		}
	})
}

// b64TokenRegexp is RFC 6750's b64token, written apart from the
// extractor's table so that it can judge it.
var b64TokenRegexp = regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*$`)

// TestB64TokenEndEveryPosition puts a byte outside the grammar at every
// position of tokens of every length around the eight-byte steps.
func TestB64TokenEndEveryPosition(t *testing.T) {
	t.Parallel()
	const text = "eyJhbGciOiJSUzI1NiJ9.e30-_~+/xyzABCDEFGH0123456789abc"
	for n := 0; n <= len(text); n++ {
		for _, bad := range []byte{' ', '"', '\n', 0, 0x80, 0xff, '='} {
			for at := -1; at < n; at++ {
				s := []byte(text[:n])
				if at >= 0 {
					s[at] = bad
				}
				want := 0
				for want < len(s) && b64TokenRegexp.MatchString(string(s[want])) {
					want++
				}
				if want > 0 {
					for want < len(s) && s[want] == '=' {
						want++
					}
				}
				if got := b64TokenEnd(string(s)); got != want {
					t.Fatalf("b64TokenEnd(%q) = %d, want %d", s, got, want)
				}
				if got, want := isB64Token(string(s)), b64TokenRegexp.Match(s); got != want {
					t.Fatalf("isB64Token(%q) = %v, want %v", s, got, want)
				}
			}
		}
	}
}

func FuzzChallenge(f *testing.F) {
	f.Add("api", "token expired", "a b")
	f.Add("a\"b", "\\\"\r\n", "\x00\xff")
	f.Fuzz(func(t *testing.T, realm, desc, scope string) {
		c := Challenge(realm, &Error{Status: 401, Code: "invalid_token", Description: desc, Scope: scope, Err: ErrRejected})
		if !strings.HasPrefix(c, "Bearer") {
			t.Fatalf("challenge %q", c)
		}
		// Every value must stay inside its quotes: count quotes, and no escapes or controls.
		if strings.Count(c, `"`)%2 != 0 || strings.ContainsAny(c, "\\\r\n\x00") {
			t.Fatalf("challenge %q escapes its quoting", c)
		}
		for i := 0; i < len(c); i++ {
			if c[i] < 0x20 || c[i] > 0x7e {
				t.Fatalf("challenge %q has byte %#x outside RFC 6750's charset", c, c[i])
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	signers := []struct {
		kid, alg string
		key      crypto.Signer
	}{{"rsa", "RS256", rsaKey}, {"rsa", "PS256", rsaKey}, {"ec256", "ES256", ec256}, {"ec384", "ES384", ec384}, {"ed", "EdDSA", edKey}}
	set := jwk.NewSet()
	for _, s := range signers[1:] {
		k, err := jwk.Import(s.key.Public())
		if err != nil {
			f.Fatal(err)
		}
		_ = k.Set(jwk.KeyIDKey, s.kid)
		_ = set.AddKey(k)
	}
	doc, _ := json.Marshal(set)

	enc := base64.RawURLEncoding.EncodeToString
	now := time.Unix(1_800_000_000, 0)
	sign := func(alg string, key crypto.Signer, header, payload string) string {
		in := enc([]byte(header)) + "." + enc([]byte(payload))
		sig, err := jwsbb.Sign(key, alg, []byte(in), nil)
		if err != nil {
			f.Fatal(err)
		}
		return in + "." + enc(sig)
	}
	claims := `{"iss":"i","aud":"a","exp":1800000100}`
	var valid []string
	for _, s := range signers {
		tok := sign(s.alg, s.key, `{"alg":"`+s.alg+`","kid":"`+s.kid+`"}`, claims)
		valid = append(valid, tok)
		f.Add(tok)
		f.Add(sign(s.alg, s.key, `{"alg":"`+s.alg+`"}`, claims)) // no kid
	}
	f.Add(sign("ES256", ec256, `{"alg":"ES256","kid":"ec256","crit":["b64"],"b64":false}`, claims))
	f.Add(sign("ES256", ec256, `{"alg":"ES256"}`, `{"iss":"i","aud":["a",1],"exp":1e400}`))
	f.Add(sign("ES256", ec256, `{"alg":"ES256","kid":"ec256"}`, `{"iss":"i","aud":"a","exp":-1,"nbf":"x"}`))
	f.Add(sign("RS256", rsaKey, `{"alg":"ES256","kid":"ec256"}`, claims)) // alg/key mismatch
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(strings.Repeat("a", 9000))
	f.Add("..")
	g, err := New(f.Context(), WithJWKSet(doc), WithIssuer("i"), WithAudience("a"),
		WithClock(func() time.Time { return now }))
	if err != nil {
		f.Fatal(err)
	}
	for _, tok := range valid {
		if _, err := g.Verify(f.Context(), tok); err != nil {
			f.Fatalf("seed token: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, token string) {
		var (
			c   *Claims
			err error
		)
		fuzzcost.Check(t, len(token), func() { c, err = g.Verify(t.Context(), token) })
		if err == nil {
			if c == nil || c.Issuer() != "i" || c.ExpiresAt().IsZero() || !slices.Contains(c.Audience(), "a") {
				t.Fatalf("accepted %q with claims %+v", token, c)
			}
			// The Authorization header's b64token check runs on refused
			// tokens only (Extractor.grammar), which is sound only if no
			// token outside the grammar is ever accepted.
			if !b64TokenRegexp.MatchString(token) {
				t.Fatalf("accepted %q, which is not a b64token", token)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != "invalid_token" {
			t.Fatalf("error %v for %q is not a 401 invalid_token", err, token)
		}
	})
}

// FuzzDecrypt feeds arbitrary compact JWEs to a guard with decryption keys:
// never a panic, only 401 invalid_token.
func FuzzDecrypt(f *testing.F) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	aesKey := make([]byte, 32)
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	enc := base64.RawURLEncoding.EncodeToString
	in := enc([]byte(`{"alg":"ES256"}`)) + "." + enc([]byte(`{"iss":"i","aud":"a","exp":1800000100}`))
	sig, _ := jwsbb.Sign(signer, "ES256", []byte(in), nil)
	inner := in + "." + enc(sig)
	for _, c := range []struct {
		alg string
		key any
	}{{"RSA-OAEP-256", &rsaKey.PublicKey}, {"A256KW", aesKey}, {"dir", aesKey}} {
		h := jwe.NewHeaders()
		_ = h.Set("cty", "JWT")
		keyAlg, _ := jwa.LookupKeyEncryptionAlgorithm(c.alg)
		out, err := jwe.Encrypt([]byte(inner), jwe.WithKey(keyAlg, c.key), jwe.WithContentEncryption(jwa.A256GCM()), jwe.WithProtectedHeaders(h))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(out))
	}
	f.Add(enc([]byte(`{"alg":"PBES2-HS256+A128KW","enc":"A128GCM","p2c":100000000,"cty":"JWT"}`)) + ".AAAA.AAAA.AAAA.AAAA")
	f.Add(enc([]byte(`{"alg":"dir","enc":"A256GCM","zip":"DEF","cty":"JWT"}`)) + "..AAAA.AAAA.AAAA")
	g, err := New(f.Context(), WithPublicKey("", &signer.PublicKey), WithIssuer("i"), WithAudience("a"),
		WithDecryptionKey("", "", rsaKey), WithDecryptionKey("", "A256KW", aesKey), WithDecryptionKey("", "A256GCM", aesKey),
		WithClock(func() time.Time { return time.Unix(1_800_000_000, 0) }))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		var (
			c   *Claims
			err error
		)
		fuzzcost.Check(t, len(token), func() { c, err = g.Verify(t.Context(), token) })
		if err == nil {
			if c.Issuer() != "i" || !b64TokenRegexp.MatchString(token) {
				t.Fatalf("accepted %q", token)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
			t.Fatalf("error %v for %q", err, token)
		}
	})
}
