// Package issuer signs short-lived access tokens for services that are
// their own identity provider (a login service), with signing-key rotation
// and a JWKS endpoint that jwtguard (or any JOSE library) can verify against.
package issuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/jose"
)

// ErrConfig wraps every configuration error from [New].
var ErrConfig = errors.New("issuer: invalid configuration")

// Issuer signs access tokens. It is safe for concurrent use.
type Issuer struct {
	url       string
	alg       string
	ttl       time.Duration
	audience  []string
	rotateAge time.Duration
	now       func() time.Time
	dpop      *jwtguard.DPoPChecker // nil: DPoP proofs are ignored
	log       *slog.Logger

	mu      sync.Mutex
	current *signingKey
	retired []*signingKey // still published until every token they signed has expired
}

type signingKey struct {
	kid       string
	priv      crypto.Signer
	created   time.Time
	retiredAt time.Time
}

type config struct {
	alg       string
	algSet    bool          // WithAlgorithm was given
	key       crypto.Signer // WithSigningKey; nil: generated
	ttl       time.Duration
	audience  []string
	rotateAge time.Duration
	now       func() time.Time
	dpop      *jwtguard.DPoPChecker
	log       *slog.Logger
}

// An Option configures an [Issuer].
type Option func(*config) error

// WithAlgorithm sets the signing algorithm: "ES256" or "EdDSA". Default: ES256.
func WithAlgorithm(alg string) Option {
	return func(c *config) error {
		if alg != "ES256" && alg != "EdDSA" {
			return fmt.Errorf("algorithm %q: use ES256 or EdDSA", alg)
		}
		c.alg, c.algSet = alg, true
		return nil
	}
}

// WithAccessTokenTTL sets the lifetime of access tokens. Keep it short:
// a stolen access token works until it expires. Default: 5 minutes.
func WithAccessTokenTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > 24*time.Hour {
			return errors.New("access token TTL must be between 0 and 24 hours")
		}
		c.ttl = d
		return nil
	}
}

// WithAudience sets the aud claim of every token. Default: none.
func WithAudience(aud ...string) Option {
	return func(c *config) error { c.audience = append(c.audience, aud...); return nil }
}

// WithKeyRotation makes the issuer switch to a fresh signing key once the
// current one is older than every. Default: 24 hours. [Issuer.Rotate]
// rotates on demand.
func WithKeyRotation(every time.Duration) Option {
	return func(c *config) error {
		if every < time.Minute {
			return errors.New("key rotation interval must be at least a minute")
		}
		c.rotateAge = every
		return nil
	}
}

// WithLogger sets where refused token requests (and refused DPoP proofs
// of session requests) are logged, with why (a proof's failing check,
// say): at Debug for the client's mistakes, whose volume clients control,
// at Error for the server's. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("nil logger")
		}
		c.log = l
		return nil
	}
}

// WithClock sets the time source. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error { c.now = now; return nil }
}

// New returns an issuer whose tokens carry iss = issuerURL.
func New(issuerURL string, opts ...Option) (*Issuer, error) {
	c := config{alg: "ES256", ttl: 5 * time.Minute, rotateAge: 24 * time.Hour, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	if issuerURL == "" {
		return nil, fmt.Errorf("%w: empty issuer URL", ErrConfig)
	}
	if c.key != nil {
		if err := c.useSigningKey(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	iss := &Issuer{url: issuerURL, alg: c.alg, ttl: c.ttl, audience: c.audience, rotateAge: c.rotateAge, now: c.now, dpop: c.dpop, log: c.log}
	k, err := iss.firstKey(c.key)
	if err != nil {
		return nil, err
	}
	iss.current = k
	return iss, nil
}

// URL is the issuer identifier.
func (iss *Issuer) URL() string { return iss.url }

// AccessTokenTTL is the lifetime of the tokens it issues.
func (iss *Issuer) AccessTokenTTL() time.Duration { return iss.ttl }

func (iss *Issuer) newKey() (*signingKey, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch iss.alg {
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, err
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	return &signingKey{kid: base64.RawURLEncoding.EncodeToString(id), priv: priv, created: iss.now()}, nil
}

// Rotate starts signing with a new key at once. The old public key stays
// in the JWKS until every token it signed has expired.
func (iss *Issuer) Rotate() error {
	k, err := iss.newKey()
	if err != nil {
		return err
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.rotateLocked(k)
	return nil
}

func (iss *Issuer) rotateLocked(k *signingKey) {
	old := iss.current
	old.retiredAt = iss.now()
	iss.retired = append(iss.retired, old)
	iss.current = k
}

// signingKey returns the key to sign with, rotating on schedule and
// forgetting retired keys whose tokens have all expired.
func (iss *Issuer) signingKey() (*signingKey, error) {
	now := iss.now()
	iss.mu.Lock()
	due := now.Sub(iss.current.created) >= iss.rotateAge
	iss.mu.Unlock()
	if due {
		k, err := iss.newKey()
		if err != nil {
			return nil, err
		}
		iss.mu.Lock()
		if now.Sub(iss.current.created) >= iss.rotateAge { // nobody rotated meanwhile
			iss.rotateLocked(k)
		}
		iss.mu.Unlock()
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.pruneLocked(now)
	return iss.current, nil
}

// retention is how long a retired key stays published: the longest a token
// it signed can live, plus clock-skew leeway, plus a JWKS cache lifetime.
func (iss *Issuer) retention() time.Duration { return iss.ttl + time.Minute + jwksMaxAge }

func (iss *Issuer) pruneLocked(now time.Time) {
	kept := iss.retired[:0]
	for _, k := range iss.retired {
		if now.Sub(k.retiredAt) < iss.retention() {
			kept = append(kept, k)
		}
	}
	clear(iss.retired[len(kept):])
	iss.retired = kept
}

// Issue signs an access token for subject with the standard claims (iss,
// sub, aud, iat, nbf, exp, jti) and extra, and returns it with its expiry.
// It refuses (with [ErrExtraClaim]) extra names that fold, as
// strings.EqualFold does, to a claim only the issuer sets (the seven of
// RFC 7519, sid, cnf), spellings of scope or scp other than these, and
// extra values that jwtguard would refuse to read: two member names that
// fold together in one object, more than 16 levels of nesting, or strings
// its strict reader refuses (invalid UTF-8, a lone surrogate escape, which
// a json.RawMessage can carry). An
// application decoding claims with encoding/json matches names that way, so
// it could otherwise read a caller's "ſub" (U+017F) as the subject.
func (iss *Issuer) Issue(subject string, extra map[string]any) (string, time.Time, error) {
	return iss.issue(subject, extra, "", time.Time{}, "")
}

// issue is Issue with the session id and the session's absolute expiry,
// which only [Sessions] sets: the token expires at the latest then (zero:
// no limit), so none outlives its session's revocation records; and with
// jkt, the thumbprint of the DPoP key the token is bound to (cnf.jkt), or
// "" for a bearer token.
func (iss *Issuer) issue(subject string, extra map[string]any, sid string, notAfter time.Time, jkt string) (string, time.Time, error) {
	if err := checkExtra(extra); err != nil {
		return "", time.Time{}, err
	}
	k, err := iss.signingKey()
	if err != nil {
		return "", time.Time{}, err
	}
	now := iss.now()
	exp := now.Add(iss.ttl)
	if !notAfter.IsZero() && notAfter.Before(exp) {
		exp = notAfter
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", time.Time{}, err
	}
	claims := make(map[string]any, len(extra)+8)
	for name, v := range extra {
		claims[name] = v
	}
	if sid != "" {
		claims["sid"] = sid
	}
	if jkt != "" {
		claims["cnf"] = map[string]any{"jkt": jkt}
	}
	claims["iss"] = iss.url
	claims["sub"] = subject
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Unix()
	claims["exp"] = exp.Unix()
	claims["jti"] = base64.RawURLEncoding.EncodeToString(jti)
	switch len(iss.audience) {
	case 0:
	case 1:
		claims["aud"] = iss.audience[0]
	default:
		claims["aud"] = iss.audience
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := checkPayload(payload); err != nil {
		return "", time.Time{}, err
	}
	token, err := jose.Sign(k.priv, iss.alg, map[string]any{"typ": "at+jwt", "kid": k.kid}, payload)
	if err != nil {
		return "", time.Time{}, err
	}
	return token, exp, nil
}

// jwksMaxAge is the Cache-Control max-age of the JWKS: short, so verifiers
// see removed keys go soon, long enough to spare the issuer.
const jwksMaxAge = 5 * time.Minute

// JWKS returns the public key set: the current key and retired keys whose
// tokens may still be alive.
func (iss *Issuer) JWKS() ([]byte, error) {
	iss.mu.Lock()
	iss.pruneLocked(iss.now())
	keys := append([]*signingKey{iss.current}, iss.retired...)
	iss.mu.Unlock()
	public := make([]jose.PublicJWK, len(keys))
	for i, k := range keys {
		public[i] = jose.PublicJWK{Kid: k.kid, Alg: iss.alg, Key: k.priv.Public()}
	}
	return jose.JWKS(public)
}

// JWKSHandler serves [Issuer.JWKS] as application/jwk-set+json with a short
// public Cache-Control.
func (iss *Issuer) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		b, err := iss.JWKS()
		if err != nil {
			http.Error(w, "key set unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(jwksMaxAge/time.Second)))
		_, _ = w.Write(b)
	})
}
