package jwtguard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard/internal/jose"
)

// anchor is one trust anchor at run time: the issuer(s) it stands for, its
// policy (audiences, algorithms, leeway, typ, age limits, required claims)
// and its key source.
type anchor struct {
	audiences []string // empty: no audience check
	algs      []string
	leeway    time.Duration
	types     []string
	keys      keySource
	maxAge    time.Duration // 0: no limit
	maxLife   time.Duration // 0: no limit
	secretLen int           // the longest HMAC secret, for details
	required  []string
	// retired is set when the policy stops being trusted (a resolver's
	// issuer evicted or no longer approved): its cached tokens die with it.
	retired atomic.Bool
	// approvedTill (Unix nanoseconds, 0: for ever) ends a resolver's
	// approval: past it, cached tokens miss and the resolver is asked again.
	approvedTill atomic.Int64
}

// current reports whether a token verified under this policy with keys of
// epoch is still good at now: the policy still trusted, no key removed
// since, and the keys within their stale window.
func (p *anchor) current(epoch uint64, now time.Time) bool {
	if till := p.approvedTill.Load(); till != 0 && now.UnixNano() >= till {
		return false
	}
	return !p.retired.Load() && p.keys.epoch() == epoch && p.keys.usableAt(now)
}

// possibleAlgorithms narrows allowed (all, when empty) to the algorithms
// the anchor's keys can verify: for static keys, those that fit one of
// them; for fetched sets, the asymmetric ones (secrets are never taken from
// a fetched set). A token with any other alg is refused before any fetch.
func possibleAlgorithms(allowed []string, static []*jose.Key) []string {
	var out []string
	for _, a := range jose.AlgorithmNames() {
		if len(allowed) > 0 && !slices.Contains(allowed, a) {
			continue
		}
		fits := false
		if len(static) == 0 {
			fits = !strings.HasPrefix(a, "HS")
		}
		for _, k := range static {
			fits = fits || k.Allows(a)
		}
		if fits {
			out = append(out, a)
		}
	}
	return out
}

// noAlgorithmError says why no allowed algorithm fits the keys, naming the
// common case: an HMAC secret too short for the algorithm asked for.
func noAlgorithmError(allowed []string, static []*jose.Key) error {
	for _, k := range static {
		secret, ok := k.Key.([]byte)
		if !ok {
			continue
		}
		for _, a := range allowed {
			if need := hmacSecretSize[a]; need > len(secret) {
				return fmt.Errorf("%s needs a secret of at least %d bytes; WithHMACSecret has %d", a, need, len(secret))
			}
		}
	}
	if len(static) == 0 {
		return fmt.Errorf("no allowed algorithm (%s) can verify with a fetched key set, which holds public keys only", strings.Join(allowed, ", "))
	}
	return fmt.Errorf("no allowed algorithm (%s) fits the configured keys", strings.Join(allowed, ", "))
}

// trustedList names the configured issuers, for details.
func (g *Guard) trustedList() string {
	list := slices.Sorted(maps.Keys(g.anchors))
	for _, t := range g.templates {
		list = append(list, t.prefix+tenantPlaceholder+t.suffix)
	}
	if g.dynamic != nil {
		list = append(list, "those the resolver approves")
	}
	return quoteList(list)
}

// checkClaims applies the time and audience rules of RFC 7519 §4.1, and the
// optional age and presence rules.
func (p *anchor) checkClaims(c *Claims, now time.Time) error {
	if c.jc.ExpiresAt.IsZero() {
		return failf(ErrMissingClaim, `no "exp" claim`)
	}
	if !now.Before(c.jc.ExpiresAt.Add(p.leeway)) {
		return failf(ErrExpired, "exp %s ago (leeway %v)", ago(now.Sub(c.jc.ExpiresAt)), p.leeway)
	}
	late := now.Add(p.leeway)
	if !c.jc.NotBefore.IsZero() && late.Before(c.jc.NotBefore) {
		return failf(ErrNotYetValid, "nbf %s in the future (leeway %v)", ago(c.jc.NotBefore.Sub(now)), p.leeway)
	}
	if !c.jc.IssuedAt.IsZero() && late.Before(c.jc.IssuedAt) {
		return failf(ErrNotYetValid, "iat %s in the future (leeway %v)", ago(c.jc.IssuedAt.Sub(now)), p.leeway)
	}
	if len(p.audiences) > 0 {
		if len(c.jc.Audience) == 0 {
			return failf(ErrMissingClaim, `no "aud" claim (accepted: %s)`, quoteList(p.audiences))
		}
		if !slices.ContainsFunc(c.jc.Audience, func(a string) bool { return slices.Contains(p.audiences, a) }) {
			return failf(ErrAudience, "audience [%s] not accepted (accepted: %s)", quoteList(c.jc.Audience), quoteList(p.audiences))
		}
	}
	if p.maxAge > 0 || p.maxLife > 0 {
		if c.jc.IssuedAt.IsZero() {
			return failf(ErrMissingClaim, `no "iat" claim (required by a maximum token age or lifetime)`)
		}
		if age := now.Sub(c.jc.IssuedAt); p.maxAge > 0 && age > p.maxAge+p.leeway {
			return failf(ErrExpired, "issued %s ago, more than the maximum token age %v (leeway %v)", ago(age), p.maxAge, p.leeway)
		}
		if life := c.jc.ExpiresAt.Sub(c.jc.IssuedAt); p.maxLife > 0 && life > p.maxLife {
			return failf(ErrExpired, "lifetime %v (exp - iat) is more than the maximum %v", life, p.maxLife)
		}
	}
	if name := c.jc.Missing(p.required); name != "" {
		return failf(ErrMissingClaim, "no %s claim (required)", quote(name))
	}
	return nil
}

// ago renders a duration for a detail, to the second.
func ago(d time.Duration) string { return d.Round(time.Second).String() }

// buildAnchor turns an anchor's configuration, with the guard-level
// defaults, into a policy; it returns the fetched key set to run, if any.
func buildAnchor(c *config, ic anchorConfig, fc fetchConfig, shared map[string]*remoteJWKS) (*anchor, *remoteJWKS, error) {
	p := &anchor{
		audiences: ic.audiences,
		algs:      ic.algorithms,
		leeway:    ic.leeway,
		types:     ic.types,
		maxAge:    cmp.Or(ic.maxAge, c.maxAge),
		maxLife:   cmp.Or(ic.maxLifetime, c.maxLifetime),
		required:  slices.Clone(c.required),
	}
	for _, name := range ic.required {
		if !slices.Contains(p.required, name) {
			p.required = append(p.required, name)
		}
	}
	if len(p.audiences) == 0 && !ic.noAudience {
		p.audiences = c.audiences
	}
	// Every way to trust an issuer (guard-level, WithTrustedIssuer,
	// discovery, a resolver's answer) ends here, so this is where an
	// audience is enforced: a token meant for another API of the same
	// issuer, or an ID token, must never pass for want of a check. Only the
	// anchor's own WithoutAudienceCheck waives it.
	if len(p.audiences) == 0 && !ic.noAudience {
		return nil, nil, errors.New("no audience: use WithAudience, or WithoutAudienceCheck")
	}
	if len(p.algs) == 0 {
		p.algs = c.algorithms
	}
	allowed := p.algs
	p.algs = possibleAlgorithms(allowed, ic.static)
	if len(p.algs) == 0 {
		return nil, nil, noAlgorithmError(allowed, ic.static)
	}
	if !ic.leewaySet {
		p.leeway = c.leeway
	}
	if len(p.types) == 0 {
		p.types = c.types
	}
	sources := 0
	for _, has := range []bool{ic.jwksURL != "", ic.discovery != "", len(ic.static) > 0, ic.keySet != nil} {
		if has {
			sources++
		}
	}
	var (
		created *remoteJWKS
		err     error
	)
	switch {
	case sources > 1:
		return nil, nil, errors.New("one issuer has keys from more than one of JWKS URL, discovery, a KeySet and static keys: use WithTrustedIssuer for each issuer")
	case ic.keySet != nil:
		p.keys = ic.keySet.src
	case len(ic.static) > 0:
		p.keys = staticKeys{jose.NewKeySet(ic.static)}
		for _, k := range ic.static {
			if b, ok := k.Key.([]byte); ok {
				p.secretLen = max(p.secretLen, len(b))
			}
		}
	case ic.jwksURL != "" || ic.discovery != "":
		key := "jwks " + ic.jwksURL
		if ic.discovery != "" {
			key = "discovery " + ic.discovery + " " + strings.Join(ic.jwksHosts, ",")
		}
		if src, ok := shared[key]; ok {
			p.keys = src
			break
		}
		if created, err = newKeySource(ic.jwksURL, ic.discovery, ic.jwksHosts, fc); err != nil {
			return nil, nil, err
		}
		if shared != nil {
			shared[key] = created
		}
		p.keys = created
	default:
		return nil, nil, errors.New("no keys for issuer")
	}
	return p, created, nil
}

// anchorFor picks the trust anchor by the token's (still unverified) iss;
// resolved says it came through the issuer resolver, which may have been
// asked. Only configured or resolver-approved issuers get this far, so a
// token can never make the guard fetch from a URL of its choosing.
func (g *Guard) anchorFor(ctx context.Context, c *Claims) (_ *anchor, resolved bool, _ error) {
	iss := c.jc.Issuer
	if p, ok := g.anchors[iss]; ok {
		return p, false, nil
	}
	if g.anyIssuer != nil {
		return g.anyIssuer, false, nil
	}
	for _, t := range g.templates {
		if p, ok := t.match(iss, c.jc.TenantID); ok {
			return p, false, nil
		}
	}
	if iss == "" {
		return nil, false, failf(ErrMissingClaim, `no "iss" claim (trusted: %s)`, g.trustedList())
	}
	if g.dynamic != nil {
		p, err := g.dynamic.anchor(ctx, iss)
		return p, true, err
	}
	return nil, false, failf(ErrIssuer, "issuer %s not trusted (trusted: %s)", quote(iss), g.trustedList())
}
