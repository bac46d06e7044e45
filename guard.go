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
	anchors   map[string]*anchor // by issuer
	anyIssuer *anchor            // with WithoutIssuerCheck
	templates []*templateAnchor  // from WithIssuerTemplate
	remotes   []*remoteJWKS
	sources   []Extractor
	// slowSources: a source may block (FromFunc), so a decision's start
	// time is too early to judge keys and claims by.
	slowSources bool

	optional      bool
	passPreflight bool
	realm         string
	maxTokenSize  int
	now           func() time.Time
	log           *slog.Logger
	errorHandler  func(http.ResponseWriter, *http.Request, error)
	validators    []func(context.Context, *Claims) error
	crossOrigin   *http.CrossOriginProtection
	cache         *verifiedCache
	headers       jose.HeaderMemo  // recent tokens' headers, by their text
	dynamic       *resolvedIssuers // from WithIssuerResolver
	stop          context.CancelFunc
	background    goroutines // the background goroutines
	decryptKeys   []*jose.DecryptKey
	allowPlain    bool
	keepRaw       bool // WithRawToken
	revokers      []Revoker
	sender        *senderPolicy                   // DPoP and certificate binding
	onDecision    func(context.Context, Decision) // WithObserver; nil: decisions are not timed
}

// New builds a Guard: it applies the options over the defaults, validates
// them, builds the trust anchors and starts fetching keys. A missing or
// unsafe setting is an error wrapping [ErrConfig] that says what to do:
// keys, an issuer and an audience are required unless switched off by
// name. ctx bounds the background refresh of fetched key sets (as does
// [Guard.Close]) and, with [WithKeysAtStart], the first load.
func New(ctx context.Context, opts ...Option) (*Guard, error) {
	c := defaultConfig()
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
	g, err := c.build()
	if err != nil {
		return nil, configError(err)
	}
	if err := g.start(ctx, c.waitForKeys); err != nil {
		return nil, err
	}
	return g, nil
}

// build turns a validated configuration into a Guard that has not started.
func (c *config) build() (*Guard, error) {
	g := &Guard{
		anchors:       make(map[string]*anchor),
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
		cache:         newVerifiedCache(c.verifiedCacheMax),
		sender:        c.sender.build(c.clock, c.observer),
	}
	if c.observer != nil {
		g.onDecision = c.observer.OnDecision
		if g.cache != nil {
			g.cache.onEvict = c.observer.OnCacheEvict
		}
	}
	if len(g.sources) == 0 {
		g.sources = []Extractor{FromAuthorizationHeader()}
	}
	g.slowSources = slices.ContainsFunc(g.sources, func(s Extractor) bool { return s.mayBlock })
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if err := g.setupCrossOrigin(c); err != nil {
		return nil, err
	}
	// Refusals are silent unless asked for (attackers control their
	// volume), but key-loading trouble never is: it goes to slog's default
	// logger when no logger was given.
	keyLog := c.logger
	if keyLog == nil {
		keyLog = slog.Default()
	}
	fc := c.fetchConfig(g.now, keyLog)
	anchors := c.trusted
	if c.hasKeys() {
		anchors = append([]anchorConfig{c.anchorConfig}, anchors...)
	}
	shared := make(map[string]*remoteJWKS) // anchors on one key set share one source
	for _, ic := range anchors {
		p, _, err := buildAnchor(c, ic, fc, shared)
		if err != nil {
			if len(ic.issuers) > 0 {
				err = fmt.Errorf("issuer %q: %v", ic.issuers[0], err)
			}
			return nil, err
		}
		if c.noIssuerCheck {
			g.anyIssuer = p
		}
		for _, iss := range ic.issuers {
			if _, dup := g.anchors[iss]; dup {
				return nil, fmt.Errorf("issuer %q configured twice", iss)
			}
			g.anchors[iss] = p
		}
	}
	for _, t := range c.templates {
		p, _, err := buildAnchor(c, t.anchorConfig, fc, shared)
		if err != nil {
			return nil, fmt.Errorf("issuer template %q: %v", t.prefix+tenantPlaceholder+t.suffix, err)
		}
		g.templates = append(g.templates, &templateAnchor{prefix: t.prefix, suffix: t.suffix, tenants: t.tenants, anchor: p})
	}
	for _, r := range shared {
		g.remotes = append(g.remotes, r)
	}
	slices.SortFunc(g.remotes, func(a, b *remoteJWKS) int { return strings.Compare(a.name(), b.name()) })
	if c.resolver != nil {
		g.dynamic = newResolvedIssuers(c, fc)
	}
	return g, nil
}

// start runs the background refresh of every key set until ctx ends or
// Close is called; with wait, it loads them first.
func (g *Guard) start(ctx context.Context, wait bool) error {
	ctx, g.stop = context.WithCancel(ctx)
	for _, r := range g.remotes {
		r.start(ctx, &g.background)
	}
	if g.dynamic != nil {
		g.dynamic.start(ctx, &g.background)
	}
	if wait {
		for _, r := range g.remotes {
			if err := r.fetchNow(ctx); err != nil {
				g.Close() // a failed New leaves no goroutine behind
				return keysError(r.unavailable())
			}
		}
	}
	return nil
}

// Close stops the background refresh of key sets and waits for it to
// end. Verification goes on with the keys already loaded until they pass
// their stale window; shared [KeySet]s are not closed. Safe to call more
// than once.
func (g *Guard) Close() {
	g.stop()
	g.background.close()
}

// configError wraps err in ErrConfig once.
func configError(err error) error {
	if errors.Is(err, ErrConfig) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrConfig, err)
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
			return keysError(r.unavailable())
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
