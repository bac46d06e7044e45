// Package jwtguardtest provides a fake token issuer for tests, in the
// spirit of net/http/httptest: it serves a JWKS and an OpenID discovery
// document over a real httptest server and signs tokens with fresh keys.
package jwtguardtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/internal/jose"
)

// JWKSPath is where an Issuer serves its key set.
const JWKSPath = "/.well-known/jwks.json"

// Issuer signs tokens and serves its public keys. Safe for concurrent use.
type Issuer struct {
	// URL is the issuer identifier (the iss claim) and the server's base URL.
	URL string

	alg    string
	server *httptest.Server

	mu      sync.Mutex
	keys    []*signingKey // published; the last one signs
	n       int
	handler http.Handler // overrides the JWKS response when set
	now     func() time.Time
}

type signingKey struct {
	kid  string
	priv crypto.Signer // nil for HMAC
	hmac []byte
}

// NewIssuer starts an issuer signing with alg (RS256, RS384, RS512, PS256,
// PS384, PS512, ES256, ES384, ES512, EdDSA, HS256, HS384 or HS512). The
// server closes when the test ends.
func NewIssuer(tb testing.TB, alg string) *Issuer {
	tb.Helper()
	iss, err := StartIssuer(alg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(iss.Close)
	return iss
}

// StartIssuer is NewIssuer outside tests; call Close when done.
func StartIssuer(alg string) (*Issuer, error) {
	iss := &Issuer{alg: alg, now: time.Now}
	if _, err := iss.newKey(); err != nil {
		return nil, err
	}
	iss.server = httptest.NewServer(http.HandlerFunc(iss.serve))
	iss.URL = iss.server.URL
	return iss, nil
}

// Close shuts the server down.
func (iss *Issuer) Close() { iss.server.Close() }

// JWKSURL is the URL of the issuer's key set.
func (iss *Issuer) JWKSURL() string { return iss.URL + JWKSPath }

// Algorithm is the signing algorithm.
func (iss *Issuer) Algorithm() string { return iss.alg }

// SetClock sets the time used for iat and exp defaults. Default: time.Now.
func (iss *Issuer) SetClock(now func() time.Time) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.now = now
}

// Secret returns the HMAC secret of the current key (HS* issuers only).
func (iss *Issuer) Secret() []byte {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.keys[len(iss.keys)-1].hmac
}

// PublicKey returns the current public key (not for HS* issuers).
func (iss *Issuer) PublicKey() crypto.PublicKey {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.keys[len(iss.keys)-1].priv.Public()
}

// KeyID returns the kid of the current signing key.
func (iss *Issuer) KeyID() string {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.keys[len(iss.keys)-1].kid
}

// Rotate adds a new signing key and keeps publishing the old ones; it
// returns the new kid.
func (iss *Issuer) Rotate() string {
	kid, err := iss.newKey()
	if err != nil {
		panic(err)
	}
	return kid
}

// RetireOldKeys stops publishing every key but the current one.
func (iss *Issuer) RetireOldKeys() {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys = iss.keys[len(iss.keys)-1:]
}

// SetJWKSHandler replaces the key set endpoint, for fault injection
// (outages, slow or hostile responses). nil restores the normal one.
func (iss *Issuer) SetJWKSHandler(h http.Handler) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.handler = h
}

func (iss *Issuer) newKey() (string, error) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.n++
	k := &signingKey{kid: fmt.Sprintf("key-%d-%s", iss.n, randomString(4))}
	var err error
	switch iss.alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		k.priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		k.priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		k.priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		k.priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA", "Ed25519":
		_, k.priv, err = ed25519.GenerateKey(rand.Reader)
	case "HS256", "HS384", "HS512":
		k.hmac = make([]byte, 64)
		_, err = rand.Read(k.hmac)
	default:
		err = fmt.Errorf("jwtguardtest: unsupported algorithm %q", iss.alg)
	}
	if err != nil {
		return "", err
	}
	iss.keys = append(iss.keys, k)
	return k.kid, nil
}

// JWKS returns the published key set document.
func (iss *Issuer) JWKS() []byte {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	var public []jose.PublicJWK
	for _, k := range iss.keys {
		if k.priv == nil {
			continue // secrets are never published
		}
		public = append(public, jose.PublicJWK{Kid: k.kid, Alg: iss.alg, Key: k.priv.Public()})
	}
	b, err := jose.JWKS(public)
	if err != nil {
		panic(err)
	}
	return b
}

func (iss *Issuer) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case JWKSPath:
		iss.mu.Lock()
		h := iss.handler
		iss.mu.Unlock()
		if h != nil {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(iss.JWKS())
	case "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss.URL,
			"jwks_uri":                              iss.JWKSURL(),
			"id_token_signing_alg_values_supported": []string{iss.alg},
		})
	default:
		http.NotFound(w, r)
	}
}

// Claims is a claims set to sign.
type Claims map[string]any

// Sign signs claims with the current key. iss, iat and exp (five minutes
// ahead) are filled in unless present; a nil value removes a claim.
func (iss *Issuer) Sign(claims Claims) string {
	iss.mu.Lock()
	now := iss.now()
	iss.mu.Unlock()
	full := Claims{"iss": iss.URL, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(full, k)
			continue
		}
		full[k] = v
	}
	payload, err := json.Marshal(full)
	if err != nil {
		panic(err)
	}
	return iss.SignRaw(nil, payload)
}

// SignRaw signs payload as it is, with a header of alg and kid plus the
// entries of header (a nil value removes one). The signature always uses
// the issuer's own algorithm, whatever the header claims: it is for
// hostile tests.
func (iss *Issuer) SignRaw(header map[string]any, payload []byte) string {
	iss.mu.Lock()
	k := iss.keys[len(iss.keys)-1]
	iss.mu.Unlock()
	h := map[string]any{"alg": iss.alg, "kid": k.kid, "typ": "JWT"}
	for name, v := range header {
		if v == nil {
			delete(h, name)
			continue
		}
		h[name] = v
	}
	hb, err := json.Marshal(h)
	if err != nil {
		panic(err)
	}
	input := b64(hb) + "." + b64(payload)
	var key any = k.priv
	if k.hmac != nil {
		key = k.hmac
	}
	sig, err := jose.SignInput(key, iss.alg, []byte(input))
	if err != nil {
		panic(fmt.Sprintf("jwtguardtest: sign %s: %v", iss.alg, err))
	}
	return input + "." + b64(sig)
}

// Encode joins a header, a payload and a signature into a compact token
// without signing, for tokens that must not verify.
func Encode(header, payload, signature []byte) string {
	return b64(header) + "." + b64(payload) + "." + b64(signature)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
