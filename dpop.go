package jwtguard

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DPoP (RFC 9449): a DPoP-bound access token (cnf.jkt) comes with
// "Authorization: DPoP <token>" and a DPoP header holding a proof, a JWT
// signed by the client's key for this request. The token may hit the
// verified-token cache; the proof is checked in full on every request.

// DPoPMode says which authorization schemes the guard accepts.
type DPoPMode uint8

const (
	// DPoPOff accepts Bearer tokens only (the default). A DPoP-bound
	// token (cnf.jkt) is still refused as Bearer: it cannot be downgraded.
	DPoPOff DPoPMode = iota
	// DPoPOptional accepts both: DPoP-bound tokens with their proofs, and
	// unbound Bearer tokens.
	DPoPOptional
	// DPoPRequired accepts DPoP only: every token must be bound and come
	// with a proof.
	DPoPRequired
)

// Defaults of the DPoP checks.
const (
	defaultProofPast   = 60 * time.Second
	defaultProofFuture = 5 * time.Second
	replayEntries      = 1 << 18 // 4369 proofs a second over a 60 s window; about 30 MB when full
	minNonceSecret     = 32
)

// defaultDPoPAlgorithms are the asymmetric algorithms accepted for proofs.
var defaultDPoPAlgorithms = []string{"ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA", "Ed25519"}

// senderConfig is the configuration of sender-constrained tokens.
type senderConfig struct {
	dpop         DPoPMode
	dpopAlgs     []string
	past, future time.Duration
	replay       ReplayStore
	nonceSecret  []byte
	nonceWindow  time.Duration
	origin       string
	requireCert  bool
	certHeader   string
}

// WithDPoP sets which schemes the guard accepts: [DPoPOff],
// [DPoPOptional] or [DPoPRequired]. Proofs are checked in full (RFC 9449
// §4.3): typ dpop+jwt, an asymmetric alg (see [WithDPoPAlgorithms]), a
// public jwk, the signature, htm, htu (see [WithPublicOrigin]), iat (see
// [WithDPoPProofWindow]), jti used once (see [WithDPoPReplayStore]), ath,
// and the token's cnf.jkt equal to the proof key's RFC 7638 thumbprint.
// Refusals carry a "WWW-Authenticate: DPoP" challenge. DPoP tokens are read
// from "Authorization: DPoP" (RFC 9449 §7.1) whatever [WithExtractors]
// says; a request that also carries a token an extractor finds is refused
// ([ErrMultipleTokens]). Default: DPoPOff.
func WithDPoP(mode DPoPMode) Option {
	return guardOption(func(c *config) error {
		if mode > DPoPRequired {
			return fmt.Errorf("unknown DPoP mode %d", mode)
		}
		c.sender.dpop = mode
		return nil
	})
}

// WithDPoPAlgorithms sets the algorithms accepted for DPoP proofs, a
// subset of RS256…RS512, PS256…PS512, ES256…ES512, EdDSA and Ed25519
// (symmetric algorithms and none cannot be). They are announced in the
// challenge's algs parameter. Default: all of them.
func WithDPoPAlgorithms(algs ...string) DPoPOption {
	return dpopOption(func(c *senderConfig) error {
		for _, a := range algs {
			if !slices.Contains(defaultDPoPAlgorithms, a) {
				return fmt.Errorf("DPoP algorithm %q not supported (asymmetric JWS algorithms only)", a)
			}
		}
		c.dpopAlgs = slices.Clone(algs)
		return nil
	})
}

// WithDPoPProofWindow sets how old (past) and how far ahead of the
// guard's clock (future) a proof's iat may be. A proof's jti is
// remembered for past, so a longer window costs memory in the replay
// store. Default: 60 seconds past, 5 seconds future.
func WithDPoPProofWindow(past, future time.Duration) DPoPOption {
	return dpopOption(func(c *senderConfig) error {
		if past <= 0 || past > 10*time.Minute || future < 0 || future > time.Minute {
			return errors.New("DPoP proof window: past must be in (0, 10m], future in [0, 1m]")
		}
		c.past, c.future = past, future
		return nil
	})
}

// WithDPoPReplayStore sets where used proof identifiers are remembered:
// a store shared by every server (see [ReplayStore]) makes a proof
// single-use across a fleet. Default: a [MemoryReplayStore] of 2^18
// entries for this guard alone (enough for 4369 DPoP requests a second
// with the default 60-second window, at most an eighth of them from one
// proof key; a busier server needs a larger one).
func WithDPoPReplayStore(s ReplayStore) DPoPOption {
	return dpopOption(func(c *senderConfig) error {
		if s == nil {
			return errors.New("nil DPoP replay store")
		}
		c.replay = s
		return nil
	})
}

// WithDPoPNonce requires server-provided nonces in proofs (RFC 9449 §9).
// Nonces are stateless: an HMAC with secret (at least 32 bytes) over a
// time window of length every, so servers sharing the secret accept each
// other's nonces. A nonce is good in its window and the next. A proof
// without a good nonce gets 401, error use_dpop_nonce, and the current
// nonce in a DPoP-Nonce header; [Guard.Handler] also sends the current
// nonce with every accepted DPoP request (adapters that call Authenticate
// do not). Default: no nonces.
func WithDPoPNonce(secret []byte, every time.Duration) DPoPOption {
	return dpopOption(func(c *senderConfig) error {
		if len(secret) < minNonceSecret {
			return fmt.Errorf("DPoP nonce secret of %d bytes (need at least %d)", len(secret), minNonceSecret)
		}
		if every < 10*time.Second || every > time.Hour {
			return errors.New("DPoP nonce window must be between 10 seconds and an hour")
		}
		c.nonceSecret, c.nonceWindow = slices.Clone(secret), every
		return nil
	})
}

// WithPublicOrigin sets the scheme, host and port that clients use to
// reach this server ("https://api.example.com"), for the htu check of DPoP
// proofs behind a reverse proxy, where the request the server sees differs
// from the one the client signed. X-Forwarded-* headers are never read.
// The path compared is the one in the request line (r.RequestURI), not one
// a router rewrote (http.StripPrefix); for a proxy that strips a prefix
// before forwarding, give the prefix as the origin's path
// ("https://example.com/api": a request for /orders was signed for
// https://example.com/api/orders).
// Set it in production: the default takes the host from the request's Host
// header, which the client chooses, so a proof captured for one server
// could be presented to another that accepts the same tokens and does not
// share its replay store. Default: the request's own (https when it came
// over TLS, and r.Host).
func WithPublicOrigin(origin string) DPoPOption {
	return dpopOption(func(c *senderConfig) error {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || (u.Path != "" && u.Path[0] != '/') {
			return fmt.Errorf("public origin %q: want scheme://host[:port][/path-prefix] only", origin)
		}
		c.origin = u.Scheme + "://" + normalHost(u.Scheme, u.Host) + strings.TrimSuffix(u.EscapedPath(), "/")
		return nil
	})
}

// KeyThumbprint returns the token's cnf.jkt (RFC 9449 §6.1): the RFC 7638
// thumbprint of the key it is bound to, or "".
func (c *Claims) KeyThumbprint() string { return c.jc.CnfJKT }

// senderPolicy is senderConfig ready for requests; immutable.
type senderPolicy struct {
	senderConfig
	algsParam string    // for the challenge
	obs       *Observer // for DPoPReplay events; may be nil
}

// validate refuses DPoP settings that would silently do nothing.
func (c *senderConfig) validate() error {
	if c.dpop == DPoPOff && (c.dpopAlgs != nil || c.past != 0 || c.replay != nil || c.nonceSecret != nil || c.origin != "") {
		return errors.New("DPoP options (algorithms, proof window, replay store, nonces, public origin) without WithDPoP(DPoPOptional or DPoPRequired)")
	}
	return nil
}

func (c senderConfig) build(now func() time.Time, obs *Observer) *senderPolicy {
	p := &senderPolicy{senderConfig: c, obs: obs}
	if len(p.dpopAlgs) == 0 {
		p.dpopAlgs = defaultDPoPAlgorithms
	}
	p.algsParam = strings.Join(p.dpopAlgs, " ")
	if p.past == 0 {
		p.past, p.future = defaultProofPast, defaultProofFuture
	}
	if p.replay == nil && p.dpop != DPoPOff {
		p.replay = newMemoryReplayStore(replayEntries, now)
	}
	return p
}

// authenticateSender is Guard.Authenticate's path for sender-constrained
// tokens. handled is false when the request is for the Bearer path, which
// then ends with checkBinding.
func (g *Guard) authenticateSender(r *http.Request, o *observation) (_ *Claims, _ error, handled bool) {
	p := g.sender
	if p.dpop == DPoPOff {
		return nil, nil, false
	}
	if values := r.Header["Authorization"]; len(values) == 1 {
		scheme, rest, _ := strings.Cut(values[0], " ")
		if strings.EqualFold(scheme, "DPoP") {
			c, err := g.authenticateDPoP(r, strings.TrimLeft(rest, " "), o)
			return c, err, true
		}
	}
	if p.dpop != DPoPRequired {
		return nil, nil, false
	}
	token, src, err := extractToken(r, g.sources)
	if err == nil {
		if bad := src.grammarError(token); bad != nil { // the token's syntax comes first, as on the Bearer path
			return nil, failf(ErrInvalidRequest, "%v", bad), true
		}
	}
	switch {
	case errors.Is(err, ErrNoToken):
		if g.optional {
			return nil, nil, true
		}
		return nil, failf(ErrNoToken, "no DPoP token (Authorization: DPoP), and DPoP is required"), true
	case errors.Is(err, ErrMultipleTokens):
		return nil, failf(ErrMultipleTokens, "%v", err), true
	case err != nil:
		return nil, failf(ErrInvalidRequest, "%v", err), true
	}
	e := failf(ErrTokenBinding, "a token from the %s where DPoP is required", src.name)
	e.Description = "DPoP required: send the token as Authorization: DPoP with a DPoP proof"
	return nil, e, true
}

// checkBinding refuses a token whose binding (cnf) the request does not
// prove. Every path that accepts a token ends here: Bearer and DPoP alike.
// A DPoP-bound token needs the DPoP path (no downgrade; that path has
// matched the proof's key with cnf.jkt already); a certificate-bound one
// needs that certificate; an unknown confirmation method is refused.
func (g *Guard) checkBinding(r *http.Request, c *Claims, viaDPoP bool) error {
	if c == nil {
		return nil
	}
	if c.jc.CnfJKT != "" && !viaDPoP {
		e := failf(ErrTokenBinding, "a DPoP-bound token (cnf.jkt) presented without DPoP")
		if g.sender.dpop != DPoPOff {
			e.Description = "the token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof"
		}
		return e
	}
	if c.jc.CnfOther {
		return failf(ErrTokenBinding, "the token is bound (cnf) by a confirmation method the guard cannot check")
	}
	return g.sender.checkCertBinding(r, c)
}

// authenticateDPoP checks "Authorization: DPoP <token>" and its proof.
func (g *Guard) authenticateDPoP(r *http.Request, token string, o *observation) (*Claims, error) {
	p := g.sender
	if !isB64Token(token) {
		return nil, failf(ErrInvalidRequest, "DPoP scheme with a missing or malformed token")
	}
	// The DPoP token is one more source: a token elsewhere (a cookie) makes
	// the request ambiguous, as two sources do on the Bearer path.
	switch _, src, err := extractToken(r, g.sources); {
	case err == nil:
		return nil, failf(ErrMultipleTokens, "a token in Authorization: DPoP and another in the %s", src.name)
	case errors.Is(err, ErrMultipleTokens):
		return nil, failf(ErrMultipleTokens, "%v", err)
	case !errors.Is(err, ErrNoToken):
		return nil, failf(ErrInvalidRequest, "%v", err)
	}
	raw, err := proofHeader(r)
	if err != nil {
		return nil, err
	}
	claims, err := g.verify(r.Context(), token, false, o)
	if err != nil {
		return nil, err
	}
	if claims.jc.CnfJKT == "" {
		return nil, failf(ErrTokenBinding, "DPoP scheme with a token not bound to a key (no cnf.jkt)")
	}
	proof, err := p.checkProof(raw, r.Method, p.requestURI(r), g.now(), token)
	if err != nil {
		return nil, err
	}
	if proof.JWK.Thumbprint != claims.jc.CnfJKT {
		return nil, failf(ErrInvalidDPoPProof, "proof key is not the key the token is bound to (cnf.jkt)")
	}
	if err := g.checkBinding(r, claims, true); err != nil {
		return nil, err
	}
	// Last: only a proof that passed everything takes room in the store.
	if err := p.useProof(r.Context(), proof); err != nil {
		if errors.Is(err, ErrInvalidDPoPProof) {
			p.obs.DPoPReplay(r.Context(), DPoPReplay{Issuer: g.issuerLabel(claims.jc.Issuer)})
		}
		return nil, err
	}
	return claims, nil
}

// requestURI is the htu a proof for r must carry: the public origin (or
// the request's own) and the path, without query and fragment.
func (p *senderPolicy) requestURI(r *http.Request) string {
	origin := p.origin
	if origin == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		origin = scheme + "://" + normalHost(scheme, r.Host)
	}
	// The path the client sent: a router may have rewritten r.URL.
	path := r.URL.EscapedPath()
	if r.RequestURI != "" {
		if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
			path = u.EscapedPath()
		}
	}
	if path == "" {
		path = "/"
	}
	return origin + path
}

// normalHTU normalises a proof's htu (RFC 3986 §6.2.2): scheme and host
// in lower case, the default port removed, the path as it is, query and
// fragment dropped (RFC 9449 §4.3 ignores them). "" when it is not an
// absolute http(s) URI.
func normalHTU(htu string) string {
	u, err := url.Parse(htu)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return ""
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + normalHost(scheme, u.Host) + path
}

// normalHost lower-cases host and drops the scheme's default port.
func normalHost(scheme, host string) string {
	host = strings.ToLower(host)
	if scheme == "https" {
		return strings.TrimSuffix(host, ":443")
	}
	return strings.TrimSuffix(host, ":80")
}

// nonce returns the nonce of the window that holds now.
func (p *senderPolicy) nonce(now time.Time) string {
	return p.nonceFor(uint64(now.UnixNano() / int64(p.nonceWindow)))
}

func (p *senderPolicy) nonceFor(window uint64) string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], window)
	m := hmac.New(sha256.New, p.nonceSecret)
	m.Write([]byte("jwtguard DPoP nonce\x00"))
	m.Write(b[:8])
	copy(b[8:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// offerNonce sets DPoP-Nonce on an accepted DPoP request when nonces are
// on (RFC 9449 §8.2), so clients move to the next nonce before theirs
// expires instead of paying a use_dpop_nonce round trip.
func (p *senderPolicy) offerNonce(h http.Header, r *http.Request, now func() time.Time) {
	if p.nonceSecret == nil {
		return
	}
	if v := r.Header.Get("Authorization"); len(v) > 5 && strings.EqualFold(v[:5], "DPoP ") {
		h.Set("DPoP-Nonce", p.nonce(now()))
	}
}

// nonceValid accepts the nonce of now's window and of the one before.
func (p *senderPolicy) nonceValid(nonce string, now time.Time) bool {
	if len(nonce) != 32 {
		return false
	}
	cur := uint64(now.UnixNano() / int64(p.nonceWindow))
	for _, w := range []uint64{cur, cur - 1} {
		if hmac.Equal([]byte(nonce), []byte(p.nonceFor(w))) {
			return true
		}
	}
	return false
}

// dpopChallenge is what a refusal needs to render the DPoP challenge.
type dpopChallenge struct {
	mode  DPoPMode
	algs  string
	used  bool   // the request used the DPoP scheme
	nonce string // for use_dpop_nonce
}

// annotate returns e with what the DPoP challenge needs, for a guard that
// accepts DPoP.
func (g *Guard) annotate(r *http.Request, e *Error) *Error {
	p := g.sender
	if p == nil || p.dpop == DPoPOff {
		return e
	}
	out := *e
	d := &dpopChallenge{mode: p.dpop, algs: p.algsParam}
	if v := r.Header.Get("Authorization"); len(v) > 5 && strings.EqualFold(v[:5], "DPoP ") {
		d.used = true
	}
	if p.nonceSecret != nil && errors.Is(e.Err, ErrUseDPoPNonce) {
		d.nonce = p.nonce(g.now())
	}
	out.dpop = d
	return &out
}

// setChallenges writes WWW-Authenticate: the Bearer challenge alone
// (RFC 6750), or with DPoP the DPoP challenge (RFC 9449 §7.1), which
// carries the error when the request used DPoP, when DPoP is required or
// when the error is about a proof; with DPoPOptional both schemes are
// offered.
func setChallenges(h http.Header, realm string, e *Error) {
	d := e.dpop
	if d == nil {
		h.Set("WWW-Authenticate", Challenge(realm, e))
		return
	}
	dpopErr := d.used || d.mode == DPoPRequired || errors.Is(e.Err, ErrInvalidDPoPProof) || errors.Is(e.Err, ErrUseDPoPNonce)
	h.Del("WWW-Authenticate")
	if d.mode == DPoPOptional {
		if dpopErr {
			h.Add("WWW-Authenticate", Challenge(realm, fail(ErrNoToken)))
		} else {
			h.Add("WWW-Authenticate", Challenge(realm, e))
		}
	}
	var b strings.Builder
	b.WriteString("DPoP")
	sep := " "
	param := func(name, value string) {
		b.WriteString(sep + name + `="` + challengeSafe(value) + `"`)
		sep = ", "
	}
	if realm != "" {
		param("realm", realm)
	}
	param("algs", d.algs)
	if dpopErr && e.Code != "" && e.Status != http.StatusServiceUnavailable {
		param("error", e.Code)
		if e.Description != "" {
			param("error_description", e.Description)
		}
		if e.Scope != "" {
			param("scope", e.Scope)
		}
	}
	h.Add("WWW-Authenticate", b.String())
	if d.nonce != "" {
		h.Set("DPoP-Nonce", d.nonce)
	}
}
