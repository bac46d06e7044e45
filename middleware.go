package jwtguard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/jwtguard/jwtguard/internal/jose"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

const (
	defaultRealm        = "api"
	defaultLeeway       = 30 * time.Second
	defaultMaxTokenSize = 8 << 10
	userAgent           = "jwtguard/" + Version + " (+https://github.com/jwtguard/jwtguard)"
)

// Guard verifies the tokens of incoming requests. It is immutable after
// [New] and safe for concurrent use; its key sets refresh in the background
// until the context given to New ends.
type Guard struct {
	policies  map[string]*policy // by issuer
	anyIssuer *policy            // with WithoutIssuerCheck
	remotes   []*remoteJWKS
	sources   []TokenSource

	optional      bool
	passPreflight bool
	realm         string
	maxTokenSize  int
	now           func() time.Time
	log           *slog.Logger
	errorHandler  func(http.ResponseWriter, *http.Request, error)
	validators    []func(context.Context, *Claims) error
	crossOrigin   *http.CrossOriginProtection
	cache         *tokenCache
	dynamic       *dynamicIssuers // from WithIssuerResolver
	stop          context.CancelFunc
	decryptKeys   []*jose.DecryptKey
	allowPlain    bool
	keepRaw       bool // WithRawToken
	revokers      []Revoker
}

// policy is the validation policy of one trust anchor.
type policy struct {
	audiences []string // empty: no audience check
	algs      []string
	leeway    time.Duration
	types     []string
	keys      keySource
	maxAge    time.Duration // 0: no limit
	maxLife   time.Duration // 0: no limit
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
func (p *policy) current(epoch uint64, now time.Time) bool {
	if till := p.approvedTill.Load(); till != 0 && now.UnixNano() >= till {
		return false
	}
	return !p.retired.Load() && p.keys.epoch() == epoch && p.keys.usable()
}

// New builds a Guard. It validates every option and returns an error
// wrapping [ErrConfig] for a missing or unsafe setting: keys, an issuer and
// an audience are required unless switched off by name. ctx bounds the
// background refresh of fetched key sets (and, with [WithKeysAtStart], the
// first load).
func New(ctx context.Context, opts ...Option) (*Guard, error) {
	var c config
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyGuard(&c); err != nil {
			return nil, configError(err)
		}
	}
	if err := c.validate(); err != nil {
		return nil, configError(err)
	}
	g := &Guard{
		policies:      make(map[string]*policy),
		sources:       c.sources,
		optional:      c.optional,
		passPreflight: c.passPreflight,
		realm:         c.realm,
		maxTokenSize:  c.maxTokenSize,
		now:           c.clock,
		log:           c.logger,
		errorHandler:  c.errorHandler,
		validators:    c.validators,
		decryptKeys:   c.decryptKeys,
		allowPlain:    c.allowPlain,
		keepRaw:       c.keepRaw,
		revokers:      c.revokers,
	}
	if len(g.sources) == 0 {
		g.sources = []TokenSource{FromAuthorizationHeader()}
	}
	if g.realm == "" {
		g.realm = defaultRealm
	}
	if g.maxTokenSize == 0 {
		g.maxTokenSize = defaultMaxTokenSize
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	// Refusals are silent unless asked for (attackers control their
	// volume), but key-loading trouble never is: it goes to slog's default
	// logger when no logger was given.
	keyLog := c.logger
	if keyLog == nil {
		keyLog = slog.Default()
	}
	if err := g.setupCrossOrigin(&c); err != nil {
		return nil, configError(err)
	}
	anchors := c.trusted
	if c.hasKeys() {
		anchors = append([]issuerConfig{c.issuerConfig}, anchors...)
	}
	for _, ic := range anchors {
		p, remote, err := buildPolicy(&c, ic, g.now, keyLog)
		if err != nil {
			if len(ic.issuers) > 0 {
				err = fmt.Errorf("issuer %q: %v", ic.issuers[0], err)
			}
			return nil, configError(err)
		}
		if remote != nil {
			g.remotes = append(g.remotes, remote)
		}
		if c.noIssuerCheck {
			g.anyIssuer = p
		}
		for _, iss := range ic.issuers {
			if _, dup := g.policies[iss]; dup {
				return nil, configError(fmt.Errorf("issuer %q configured twice", iss))
			}
			g.policies[iss] = p
		}
	}
	// A failed New must not leave refresh loops behind.
	ctx, g.stop = context.WithCancel(ctx)
	if c.resolver != nil {
		g.dynamic = newDynamicIssuers(ctx, &c, g.now, keyLog)
	}
	g.cache = newTokenCache(c.verifiedCacheMax)
	for _, r := range g.remotes {
		go r.run(ctx)
	}
	if c.waitForKeys {
		for _, r := range g.remotes {
			if err := r.fetchShared(ctx, true); err != nil {
				g.stop()
				return nil, r.unavailable()
			}
		}
	}
	return g, nil
}

// configError wraps err in ErrConfig once.
func configError(err error) error {
	if errors.Is(err, ErrConfig) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrConfig, err)
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
			if need := map[string]int{"HS384": 48, "HS512": 64}[a]; need > len(secret) {
				return fmt.Errorf("%s needs a secret of at least %d bytes; WithHMACSecret has %d", a, need, len(secret))
			}
		}
	}
	if len(static) == 0 {
		return fmt.Errorf("no allowed algorithm (%s) can verify with a fetched key set, which holds public keys only", strings.Join(allowed, ", "))
	}
	return fmt.Errorf("no allowed algorithm (%s) fits the configured keys", strings.Join(allowed, ", "))
}

// buildPolicy turns an anchor's configuration, with the guard-level
// defaults, into a policy; it returns the fetched key set to run, if any.
func buildPolicy(c *config, ic issuerConfig, now func() time.Time, log *slog.Logger) (*policy, *remoteJWKS, error) {
	p := &policy{
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
		p.leeway = defaultLeeway
		if c.leewaySet {
			p.leeway = c.leeway
		}
	}
	if len(p.types) == 0 {
		p.types = c.types
	}
	var (
		remote *remoteJWKS
		err    error
	)
	sources := 0
	for _, has := range []bool{ic.jwksURL != "", ic.discovery != "", len(ic.static) > 0} {
		if has {
			sources++
		}
	}
	switch {
	case sources > 1:
		return nil, nil, errors.New("one issuer has keys from more than one of JWKS URL, discovery and static keys: use WithTrustedIssuer for each issuer")
	case ic.jwksURL != "":
		remote, err = newRemoteJWKS(ic.jwksURL, c.httpClient, c.cache, c.allowHTTPKeys, now, log, c.onKeyFetchError)
	case ic.discovery != "":
		remote, err = newDiscoveredJWKS(ic.discovery, ic.jwksHosts, c.httpClient, c.cache, c.allowHTTPKeys, now, log, c.onKeyFetchError)
	case len(ic.static) > 0:
		p.keys = staticKeys{jose.NewKeySet(ic.static)}
	default:
		return nil, nil, errors.New("no keys for issuer")
	}
	if err != nil {
		return nil, nil, err
	}
	if remote != nil {
		p.keys = remote
	}
	return p, remote, nil
}

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
	if g.passPreflight && isPreflight(r) {
		return nil, nil
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
	return g.Verify(r.Context(), token)
}

// Verify checks a token string, wherever it came from, and returns its
// claims. Every error is an [*Error].
func (g *Guard) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > g.maxTokenSize {
		return nil, fail(ErrTokenTooLarge)
	}
	now := g.now()
	cacheable := g.cache.cacheable(token)
	var key [32]byte
	if cacheable {
		key = tokenKey(token)
		if c, ok := g.cache.get(key, now); ok {
			if err := g.accept(ctx, c); err != nil {
				return nil, err
			}
			return c, nil
		}
	}
	claims, p, epoch, err := g.verify(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if err := g.accept(ctx, claims); err != nil {
		return nil, err
	}
	if cacheable {
		g.cache.put(key, claims, p, epoch)
	}
	return claims, nil
}

func (g *Guard) verify(ctx context.Context, token string, now time.Time) (*Claims, *policy, uint64, error) {
	if strings.Count(token, ".") == 4 { // compact JWE
		if len(g.decryptKeys) == 0 {
			return nil, nil, 0, failf(ErrMalformedToken, "an encrypted token (JWE), and no decryption key is configured")
		}
		inner, err := jose.Decrypt(token, g.decryptKeys, true)
		if err != nil {
			return nil, nil, 0, fromJOSE(err)
		}
		token = string(inner)
	} else if len(g.decryptKeys) > 0 && !g.allowPlain {
		return nil, nil, 0, failf(ErrEncryption, "a plain signed token where encryption is required")
	}
	t, err := jose.ParseCompact(token)
	if err != nil {
		return nil, nil, 0, fromJOSE(err)
	}
	claims, err := parseClaims(t.Payload)
	if err != nil {
		e := failf(ErrMalformedToken, "%v", err)
		e.Token = &TokenFacts{Alg: t.Header.Alg, Kid: t.Header.Kid, Typ: t.Header.Typ, Now: now}
		return nil, nil, 0, e
	}
	p, epoch, err := g.check(ctx, t, claims, now)
	if err != nil {
		e := asError(err, ErrRejected)
		e.Token = facts(t, claims, now, p)
		return nil, nil, 0, e
	}
	if g.keepRaw {
		claims.token = token
	}
	return claims, p, epoch, nil
}

// check applies the policy of the token's issuer: alg, typ, signature and
// claims.
func (g *Guard) check(ctx context.Context, t *jose.Token, claims *Claims, now time.Time) (_ *policy, epoch uint64, _ error) {
	h := &t.Header
	p, err := g.policyFor(ctx, claims.jc.Issuer)
	if err != nil {
		return nil, 0, err
	}
	if !slices.Contains(p.algs, h.Alg) {
		return p, 0, failf(ErrUnsupportedAlgorithm, "algorithm %s not accepted (accepted: %s)", quote(h.Alg), strings.Join(p.algs, ", "))
	}
	if len(p.types) > 0 && !slices.ContainsFunc(p.types, func(want string) bool { return jose.TypMatches(h.Typ, want) }) {
		return p, 0, failf(ErrUnsupportedHeader, "typ %s not accepted (required: %s)", quote(h.Typ), quoteList(p.types))
	}
	epoch = p.keys.epoch() // read before the keys, so a removal during verification is never missed
	if err := verifyJWS(ctx, t, p.keys); err != nil {
		return p, 0, err
	}
	if err := p.checkClaims(claims, now); err != nil {
		return p, 0, err
	}
	claims.header = TokenHeader{Alg: h.Alg, Kid: h.Kid, Typ: h.Typ}
	return p, epoch, nil
}

// fromJOSE maps an error of internal/jose to the guard's: its sentinel,
// with the error's text as the detail.
func fromJOSE(err error) *Error {
	if errors.Is(err, jose.ErrEncryption) {
		return failf(ErrEncryption, "%v", err)
	}
	return failf(ErrMalformedToken, "%v", err)
}

// facts collects what a refused token said, for diagnosis.
func facts(t *jose.Token, c *Claims, now time.Time, p *policy) *TokenFacts {
	f := &TokenFacts{Alg: t.Header.Alg, Kid: t.Header.Kid, Typ: t.Header.Typ, Issuer: c.jc.Issuer, Audience: c.jc.Audience,
		ExpiresAt: c.jc.ExpiresAt, NotBefore: c.jc.NotBefore, IssuedAt: c.jc.IssuedAt, Now: now}
	if p != nil {
		f.Leeway = p.leeway
	}
	return f
}

// policyFor picks the trust anchor by the token's (still unverified) iss.
// Only configured or resolver-approved issuers get this far, so a token can
// never make the guard fetch from a URL of its choosing.
func (g *Guard) policyFor(ctx context.Context, iss string) (*policy, error) {
	if p, ok := g.policies[iss]; ok {
		return p, nil
	}
	if g.anyIssuer != nil {
		return g.anyIssuer, nil
	}
	if iss == "" {
		return nil, failf(ErrMissingClaim, `no "iss" claim (trusted: %s)`, g.trustedList())
	}
	if g.dynamic != nil {
		return g.dynamic.policy(ctx, iss)
	}
	return nil, failf(ErrIssuer, "issuer %s not trusted (trusted: %s)", quote(iss), g.trustedList())
}

// trustedList names the configured issuers, for details.
func (g *Guard) trustedList() string {
	list := slices.Sorted(maps.Keys(g.policies))
	if g.dynamic != nil {
		list = append(list, "those the resolver approves")
	}
	return quoteList(list)
}

// checkClaims applies the time and audience rules of RFC 7519 §4.1, and the
// optional age and presence rules.
func (p *policy) checkClaims(c *Claims, now time.Time) error {
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
	for _, name := range p.required {
		if !c.has(name) {
			return failf(ErrMissingClaim, "no %s claim (required)", quote(name))
		}
	}
	return nil
}

// ago renders a duration for a detail, to the second.
func ago(d time.Duration) string { return d.Round(time.Second).String() }

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
	if g.errorHandler != nil {
		g.errorHandler(w, r, e)
		return
	}
	writeError(w, g.realm, e)
}

// Ready reports whether every fetched key set has usable keys.
func (g *Guard) Ready() bool {
	for _, r := range g.remotes {
		if !r.usable() {
			return false
		}
	}
	return true
}

// WaitReady blocks until every fetched key set has loaded once (the
// background loop retries with backoff) or until ctx ends. Its error
// matches [ErrKeysUnavailable] or, when the source answers wrongly,
// [ErrKeysMisconfigured], and says why.
func (g *Guard) WaitReady(ctx context.Context) error {
	for _, r := range g.remotes {
		select {
		case <-r.loaded:
		case <-ctx.Done():
			return r.unavailable()
		}
	}
	return nil
}

// Status is a snapshot of the guard's key sources, for health endpoints.
type Status struct {
	Ready       bool              `json:"ready"`
	KeySources  []KeySourceStatus `json:"key_sources,omitempty"`
	CacheHits   uint64            `json:"cache_hits"`
	CacheMisses uint64            `json:"cache_misses"`
	CacheSize   int               `json:"cache_entries"`
}

// Redacted returns the status without what only operators should see —
// key URLs, issuers, key IDs, fetch errors, skipped keys — for a health
// endpoint that the public can reach. Readiness, staleness, times and
// counters stay.
func (s Status) Redacted() Status {
	out := s
	out.KeySources = make([]KeySourceStatus, len(s.KeySources))
	for i, k := range s.KeySources {
		out.KeySources[i] = KeySourceStatus{
			Ready: k.Ready, Stale: k.Stale, LastSuccess: k.LastSuccess, LastErrorAt: k.LastErrorAt,
			NextRefresh: k.NextRefresh, Fetches: k.Fetches, FetchFailures: k.FetchFailures, UnknownKIDs: k.UnknownKIDs,
		}
	}
	return out
}

// Status reports the state of every fetched key set and the token cache,
// in detail: key URLs and fetch errors included. Serve [Status.Redacted]
// to anyone but operators.
func (g *Guard) Status() Status {
	s := Status{Ready: true}
	for _, r := range g.remotes {
		rs := r.status()
		s.Ready = s.Ready && rs.Ready
		s.KeySources = append(s.KeySources, rs)
	}
	if g.dynamic != nil {
		s.KeySources = append(s.KeySources, g.dynamic.status()...)
	}
	s.CacheHits, s.CacheMisses, s.CacheSize = g.cache.stats()
	return s
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
