package jwtguard

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/jwtguard/jwtguard/internal/jose"
)

// The proof checks of RFC 9449 §4.3 shared by the guard (a proof with an
// access token, at a protected resource) and by [DPoPChecker] (a proof
// alone, at an authorization server's token endpoint): one validator.

// A DPoPOption is both an [Option] and a [DPoPCheckerOption]: a setting of
// the DPoP proof checks, for a guard or for a [DPoPChecker].
type DPoPOption interface {
	Option
	DPoPCheckerOption
}

// A DPoPCheckerOption configures a [DPoPChecker].
type DPoPCheckerOption interface {
	applyDPoPChecker(*dpopCheckerConfig) error
}

type dpopOption func(*senderConfig) error

func (o dpopOption) applyGuard(c *config) error                  { return o(&c.sender) }
func (o dpopOption) applyDPoPChecker(c *dpopCheckerConfig) error { return o(&c.sender) }

type checkerOption func(*dpopCheckerConfig) error

func (o checkerOption) applyDPoPChecker(c *dpopCheckerConfig) error { return o(c) }

type dpopCheckerConfig struct {
	sender senderConfig
	now    func() time.Time
}

// WithDPoPCheckerClock sets the time source of a [DPoPChecker] (the iat
// window, nonces, the default replay store). Default: time.Now.
func WithDPoPCheckerClock(now func() time.Time) DPoPCheckerOption {
	return checkerOption(func(c *dpopCheckerConfig) error {
		if now == nil {
			return errors.New("WithDPoPCheckerClock: nil clock")
		}
		c.now = now
		return nil
	})
}

// DPoPChecker checks DPoP proofs that come without an access token: at an
// authorization server's token endpoint (RFC 9449 §5), where a valid proof
// asks for a token bound to its key. It runs the guard's own checks: typ
// dpop+jwt, an asymmetric alg ([WithDPoPAlgorithms]), a jwk holding a
// public key only, the signature, htm equal to the request method, htu
// equal to the request URI ([WithPublicOrigin]), iat within the window
// ([WithDPoPProofWindow]), the server nonce when configured
// ([WithDPoPNonce]), and jti used once ([WithDPoPReplayStore]). ath is not
// checked: no access token comes with the request. Safe for concurrent use.
type DPoPChecker struct {
	p   *senderPolicy
	now func() time.Time
}

// NewDPoPChecker returns a checker with the given settings; its defaults are
// the guard's: every asymmetric algorithm, a window of 60 s past and 5 s
// future, an in-memory replay store of 2^18 entries of its own, no nonces,
// the request's own origin. Errors wrap [ErrConfig].
func NewDPoPChecker(opts ...DPoPCheckerOption) (*DPoPChecker, error) {
	c := dpopCheckerConfig{now: time.Now}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyDPoPChecker(&c); err != nil {
			return nil, configError(err)
		}
	}
	c.sender.dpop = DPoPRequired
	return &DPoPChecker{p: c.sender.build(c.now, nil), now: c.now}, nil
}

// Check checks the request's DPoP proof (exactly one DPoP header) for
// r.Method at r's URI and returns the RFC 7638 thumbprint of its key: the
// cnf.jkt of the token to issue. A refusal is an [*Error] wrapping
// [ErrInvalidDPoPProof], [ErrUseDPoPNonce] (send [DPoPChecker.Nonce] in a
// DPoP-Nonce header) or [ErrReplayCheckUnavailable].
func (c *DPoPChecker) Check(r *http.Request) (jkt string, err error) {
	raw, err := proofHeader(r)
	if err != nil {
		return "", err
	}
	proof, err := c.p.checkProof(raw, r.Method, c.p.requestURI(r), c.now(), "")
	if err != nil {
		return "", err
	}
	if err := c.p.useProof(r.Context(), proof); err != nil {
		return "", err
	}
	return proof.JWK.Thumbprint, nil
}

// Nonce returns the server nonce clients must put in their proofs now, for
// a DPoP-Nonce header (RFC 9449 §8), or "" without [WithDPoPNonce].
func (c *DPoPChecker) Nonce() string {
	if c.p.nonceSecret == nil {
		return ""
	}
	return c.p.nonce(c.now())
}

// proofHeader returns the request's one DPoP header (RFC 9449 §4.3: two
// are refused).
func proofHeader(r *http.Request) (string, error) {
	proofs := r.Header["Dpop"]
	if len(proofs) != 1 {
		return "", failf(ErrInvalidDPoPProof, "%d DPoP headers (want one)", len(proofs))
	}
	return proofs[0], nil
}

// checkProof parses proof and checks it for a request with method to uri
// (normalised, as requestURI gives it) at now: typ, alg, jwk and signature
// (jose.ParseProof), htm, htu, the iat window, the nonce and, when token is
// not "", ath. The binding to a token (cnf.jkt) and the replay check
// (useProof) are the caller's.
func (p *senderPolicy) checkProof(raw, method, uri string, now time.Time, token string) (*jose.Proof, error) {
	proof, err := jose.ParseProof(raw, p.dpopAlgs)
	if err != nil {
		return nil, failf(ErrInvalidDPoPProof, "%v", err)
	}
	if proof.Method != method {
		return nil, failf(ErrInvalidDPoPProof, "htm %s, request method %s", quote(proof.Method), method)
	}
	if got := normalHTU(proof.URI); got == "" || got != uri {
		return nil, failf(ErrInvalidDPoPProof, "htu %s does not match %s", quote(proof.URI), quote(uri))
	}
	// Exclusive, like the replay store's expiry: at iat+past exactly the
	// proof is already too old, so it can never outlive its jti's entry.
	if !proof.IssuedAt.After(now.Add(-p.past)) {
		return nil, failf(ErrInvalidDPoPProof, "proof iat %s ago (window %v)", ago(now.Sub(proof.IssuedAt)), p.past)
	}
	if proof.IssuedAt.After(now.Add(p.future)) {
		return nil, failf(ErrInvalidDPoPProof, "proof iat %s in the future (window %v)", ago(proof.IssuedAt.Sub(now)), p.future)
	}
	if p.nonceSecret != nil && !p.nonceValid(proof.Nonce, now) {
		if proof.Nonce == "" {
			return nil, failf(ErrUseDPoPNonce, "proof without a nonce")
		}
		return nil, failf(ErrUseDPoPNonce, "proof nonce unknown or expired")
	}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		if proof.AccessHash != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return nil, failf(ErrInvalidDPoPProof, "proof ath does not match the access token")
		}
	}
	return proof, nil
}

// useProof records the proof's key and jti in the replay store until the
// proof is too old anyway. A proof seen before is ErrInvalidDPoPProof, a
// store that cannot tell ErrReplayCheckUnavailable.
func (p *senderPolicy) useProof(ctx context.Context, proof *jose.Proof) error {
	fresh, err := p.replay.Use(ctx, replayKey(proof.JWK.Thumbprint, proof.ID), proof.IssuedAt.Add(p.past))
	switch {
	case err != nil:
		return failf(ErrReplayCheckUnavailable, "%v", err)
	case !fresh:
		return failf(ErrInvalidDPoPProof, "proof jti already used")
	}
	return nil
}

// replayKey is the replay store's key for a proof: 11 characters naming
// the client (its key's thumbprint, hashed), then 32 naming the proof, all
// base64url. The memory store counts each client's proofs by the first
// part, so that one client can hold only its share.
func replayKey(thumbprint, jti string) string {
	client := sha256.Sum256([]byte(thumbprint))
	proof := sha256.Sum256([]byte(thumbprint + "\x00" + jti))
	var b [replayKeyLen]byte
	base64.RawURLEncoding.Encode(b[:replayClientLen], client[:8])
	base64.RawURLEncoding.Encode(b[replayClientLen:], proof[:24])
	return string(b[:])
}

const (
	replayClientLen = 11 // base64url of 8 bytes
	replayKeyLen    = replayClientLen + 32
)
