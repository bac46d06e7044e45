package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/internal/jose"
)

// Handler returns middleware that lets a request through to next only with
// a valid token, with the claims in its context (see [ClaimsFromContext]).
// Refused requests get the response of [Guard.WriteError].
func (g *Guard) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := g.Authenticate(r)
		if err != nil {
			g.WriteError(w, r, err)
			return
		}
		if claims != nil {
			r = r.WithContext(NewContext(r.Context(), claims))
			g.sender.offerNonce(w.Header(), r, g.now) // DPoP-Nonce (dpop.go)
		}
		next.ServeHTTP(w, r)
	})
}

// Authenticate checks the request's token and returns its claims. It has no
// side effects, so framework adapters build on it. It returns (nil, nil)
// when the request may go on without claims: no token with
// [WithCredentialsOptional], or a CORS preflight with
// [InsecurePassUnauthenticatedPreflight]. Every error is an [*Error].
func (g *Guard) Authenticate(r *http.Request) (*Claims, error) {
	if g.onDecision != nil {
		return g.observeAuthenticate(r)
	}
	return g.authenticate(r, nil)
}

// authenticate is Authenticate; o, when not nil, collects facts for the
// Observer.
func (g *Guard) authenticate(r *http.Request, o *observation) (*Claims, error) {
	if g.passPreflight && isPreflight(r) {
		return nil, nil
	}
	if c, err, handled := g.authenticateSender(r, o); handled { // DPoP (dpop.go)
		return c, err
	}
	token, src, err := extractToken(r, g.sources)
	if err != nil {
		switch {
		case errors.Is(err, ErrNoToken):
			if g.optional {
				return nil, nil
			}
			return nil, failf(ErrNoToken, "%s", noTokenDetail(r, g.sources))
		case errors.Is(err, ErrMultipleTokens):
			return nil, failf(ErrMultipleTokens, "%v", err)
		}
		// A custom source's own error text goes to the log, never the client.
		return nil, failf(ErrInvalidRequest, "%v", err)
	}
	if src.ambient && g.crossOrigin != nil {
		if err := g.checkOrigin(r); err != nil {
			return nil, failf(ErrCrossOrigin, "%s: %v", src.name, err)
		}
	}
	c, err := g.verify(r.Context(), token, src.standalone, o)
	if err != nil {
		if bad := src.grammarError(token); bad != nil { // a refusal's cause is the token's syntax
			return nil, failf(ErrInvalidRequest, "%v", bad)
		}
	}
	if err == nil {
		err = g.checkBinding(r, c, false) // cnf: no DPoP downgrade, the client certificate (dpop.go, mtls.go)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Verify checks a token string, wherever it came from, and returns its
// claims. Every error is an [*Error]. Verify has no request, so it cannot
// check a sender binding (a cnf claim: DPoP's jkt, RFC 8705's x5t#S256);
// [Guard.Authenticate] checks them on every request. A caller of Verify
// must refuse tokens with [Claims.KeyThumbprint] or
// [Claims.CertificateThumbprint] set unless it checks the binding itself.
func (g *Guard) Verify(ctx context.Context, token string) (*Claims, error) {
	if g.onDecision != nil {
		return g.observeVerify(ctx, token)
	}
	return g.verify(ctx, token, false, nil)
}

// verify is Verify. A standalone token's string shares no memory with
// anything larger, so the cache may keep it without a copy. o, when not
// nil, collects facts for the Observer and gives the time.
func (g *Guard) verify(ctx context.Context, token string, standalone bool, o *observation) (*Claims, error) {
	if len(token) > g.maxTokenSize {
		return nil, fail(ErrTokenTooLarge)
	}
	var now time.Time
	if o != nil && !g.slowSources {
		now = o.start // read just before: one clock read a decision (a second costs 50 ns a hit)
	} else {
		now = g.now()
	}
	cacheable := g.cache.cacheable(token)
	var key uint64
	if cacheable {
		key = g.cache.key(token)
		if c, ok := g.cache.get(key, token, now); ok {
			if o != nil {
				o.hit = true
			}
			if err := g.accept(ctx, c); err != nil {
				return nil, err
			}
			return c, nil
		}
	}
	claims, room, p, epoch, err := g.verifyToken(ctx, token, now, cacheable)
	if err != nil {
		return nil, err
	}
	// An HMAC token costs less to verify again than to keep unused, so it
	// enters the cache on its second use; a signature check costs tens of
	// microseconds, so any other enters on its first.
	cacheable = cacheable && (!cheapToVerify(claims.header.Alg, claims.encrypted) || g.cache.admit(key))
	if !standalone && (cacheable || g.keepRaw) {
		// Neither the cache nor RawToken may pin a larger string the token
		// was cut from (a Cookie header, say).
		token, standalone = strings.Clone(token), true
	}
	if g.keepRaw && claims.token == "" {
		claims.token = token
	}
	if err := g.accept(ctx, claims); err != nil {
		return nil, err
	}
	if cacheable {
		g.cache.put(key, token, claims, room, p, epoch)
	}
	return claims, nil
}

// verifyToken verifies token; cacheable says the cache may keep it, so
// its claims are allocated with room for their entry unless it is an HMAC
// token (kept only on its second use), and room is that entry.
func (g *Guard) verifyToken(ctx context.Context, token string, now time.Time, cacheable bool) (_ *Claims, room *cacheEntry, _ *anchor, epoch uint64, _ error) {
	jwe := strings.Count(token, ".") == 4
	if jwe { // compact JWE
		if len(g.decryptKeys) == 0 {
			return nil, nil, nil, 0, failf(ErrMalformedToken, "an encrypted token (JWE), and no decryption key is configured")
		}
		inner, err := jose.Decrypt(token, g.decryptKeys, true)
		if err != nil {
			return nil, nil, nil, 0, fromJOSE(err)
		}
		token = string(inner)
	} else if len(g.decryptKeys) > 0 && !g.allowPlain {
		return nil, nil, nil, 0, failf(ErrEncryption, "a plain signed token where encryption is required")
	}
	var tok jose.Token
	t := &tok
	// The signature is needed only until the check below: it is decoded
	// into this stack buffer (512 bytes: an RSA-4096 signature), not kept.
	var sigScratch [512]byte
	sig, err := jose.ParseCompactInto(token, &g.headers, t, sigScratch[:])
	if err != nil {
		e := fromJOSE(err)
		if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
			e.Detail += ` (the token starts with "Bearer ": pass Verify the token alone)`
		}
		return nil, nil, nil, 0, e
	}
	var claims *Claims
	if cacheable && !cheapToVerify(t.Header.Alg, jwe) {
		claims, room, err = parseClaimsToCache(t.Payload)
	} else {
		claims, err = parseClaims(t.Payload)
	}
	if err != nil {
		e := failf(ErrMalformedToken, "%v", err)
		e.Token = &TokenFacts{Alg: t.Header.Alg, Kid: t.Header.Kid, Typ: t.Header.Typ, Now: now}
		return nil, nil, nil, 0, e
	}
	p, epoch, err := g.checkToken(ctx, t, sig, claims, now)
	if err != nil {
		e := asError(err, ErrRejected)
		e.Token = facts(t, claims, now, p)
		return nil, nil, nil, 0, e
	}
	claims.encrypted = jwe
	if g.keepRaw && jwe {
		claims.token = token // the inner JWS, a string of its own (verify sets it for the rest)
	}
	return claims, room, p, epoch, nil
}

// check applies the policy of the token's issuer: alg, typ, signature and
// claims.
func (g *Guard) checkToken(ctx context.Context, t *jose.Token, sig []byte, claims *Claims, now time.Time) (_ *anchor, epoch uint64, _ error) {
	h := &t.Header
	p, resolved, err := g.anchorFor(ctx, claims)
	if err != nil {
		return nil, 0, err
	}
	if resolved {
		// The resolver may have been asked, for up to its timeout: keys
		// and claims are judged at the time of its answer.
		now = g.now()
	}
	if !slices.Contains(p.algs, h.Alg) {
		e := failf(ErrUnsupportedAlgorithm, "algorithm %s not accepted (accepted: %s)", quote(h.Alg), strings.Join(p.algs, ", "))
		if need := hmacSecretSize[h.Alg]; need > 0 && p.secretLen == 0 {
			e.Detail += "; HMAC tokens need WithHMACSecret (a key set holds public keys only)"
		} else if need > p.secretLen {
			e.Detail += fmt.Sprintf("; %s needs a secret of at least %d bytes, WithHMACSecret has %d", h.Alg, need, p.secretLen)
		}
		return p, 0, e
	}
	if len(p.types) > 0 && !slices.ContainsFunc(p.types, func(want string) bool { return jose.TypMatches(h.Typ, want) }) {
		return p, 0, failf(ErrUnsupportedHeader, "typ %s not accepted (required: %s)", quote(h.Typ), quoteList(p.types))
	}
	epoch = p.keys.epoch() // read before the keys, so a removal during verification is never missed
	if err := verifyJWS(ctx, t, sig, p.keys, now); err != nil {
		return p, 0, err
	}
	if err := p.checkClaims(claims, now); err != nil {
		return p, 0, err
	}
	claims.header = TokenHeader{Alg: h.Alg, Kid: h.Kid, Typ: h.Typ}
	return p, epoch, nil
}

// hmacSecretSize is the least secret each HMAC algorithm takes (RFC 7518 §3.2).
var hmacSecretSize = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

// fromJOSE maps an error of internal/jose to the guard's: its sentinel,
// with the error's text as the detail.
func fromJOSE(err error) *Error {
	if errors.Is(err, jose.ErrEncryption) {
		return failf(ErrEncryption, "%v", err)
	}
	return failf(ErrMalformedToken, "%v", err)
}

// facts collects what a refused token said, for diagnosis.
func facts(t *jose.Token, c *Claims, now time.Time, p *anchor) *TokenFacts {
	f := &TokenFacts{Alg: t.Header.Alg, Kid: t.Header.Kid, Typ: t.Header.Typ, Issuer: c.jc.Issuer, Audience: c.jc.Audience,
		ExpiresAt: c.jc.ExpiresAt, NotBefore: c.jc.NotBefore, IssuedAt: c.jc.IssuedAt, Now: now}
	if p != nil {
		f.Leeway = p.leeway
	}
	return f
}

// accept runs what applies to every verified token, cached or not:
// revocation, then the validators.
func (g *Guard) accept(ctx context.Context, c *Claims) error {
	if len(g.revokers) > 0 {
		if err := g.checkRevocation(c); err != nil {
			return err
		}
	}
	for _, v := range g.validators {
		if err := v(ctx, c); err != nil {
			return asError(err, ErrRejected)
		}
	}
	return nil
}

// WriteError writes the response for a refused request: by default an RFC
// 6750 WWW-Authenticate challenge, Retry-After on 503, and a JSON body
// {"error": ..., "error_description": ...} with fixed texts. It logs the
// refusal at Debug, in words and with the token's facts (never the token).
func (g *Guard) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err, ErrRejected)
	if g.log.Enabled(r.Context(), slog.LevelDebug) {
		attrs := []slog.Attr{slog.Int("status", e.Status), slog.String("reason", e.Error()),
			slog.String("method", r.Method), slog.String("path", r.URL.Path)}
		if e.Token != nil {
			attrs = append(attrs, slog.Any("token", e.Token))
		}
		g.log.LogAttrs(r.Context(), slog.LevelDebug, "jwtguard: request refused", attrs...)
	}
	e = g.annotate(r, e) // the DPoP challenge's facts (dpop.go)
	if g.errorHandler != nil {
		g.errorHandler(w, r, e)
		return
	}
	writeError(w, g.realm, e)
}

// checkOrigin is the CSRF check for browser-sent (ambient) credentials:
// unsafe methods must come from the same origin or a trusted one. A
// WebSocket handshake is a GET, which CrossOriginProtection lets through,
// yet it opens a two-way channel with the cookie's authority (cross-site
// WebSocket hijacking), so it is checked as if it were unsafe.
func (g *Guard) checkOrigin(r *http.Request) error {
	if isWebSocketUpgrade(r) {
		unsafe := *r
		unsafe.Method = http.MethodPost
		return g.crossOrigin.Check(&unsafe)
	}
	return g.crossOrigin.Check(r)
}

func isWebSocketUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

// headerHasToken reports whether a comma-separated header lists token
// (case-insensitive).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// setupCrossOrigin prepares the CSRF check applied to cookie-borne tokens.
func (g *Guard) setupCrossOrigin(c *config) error {
	if c.noCrossOrigin {
		return nil
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range c.trustedOrigins {
		if err := cop.AddTrustedOrigin(strings.TrimSuffix(o, "/")); err != nil {
			return err
		}
	}
	g.crossOrigin = cop
	return nil
}

// cheapToVerify reports whether a token signed with alg costs about as
// much to verify as to look up: a plain HMAC token (a microsecond), not a
// JWE.
func cheapToVerify(alg string, encrypted bool) bool {
	return strings.HasPrefix(alg, "HS") && !encrypted
}
