package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
	cache         *verifiedCache
	dynamic       *resolvedIssuers // from WithIssuerResolver
	stop          context.CancelFunc
	decryptKeys   []*jose.DecryptKey
	allowPlain    bool
	keepRaw       bool // WithRawToken
	revokers      []Revoker
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
		anchors = append([]anchorConfig{c.anchorConfig}, anchors...)
	}
	for _, ic := range anchors {
		p, remote, err := buildAnchor(&c, ic, g.now, keyLog)
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
			if _, dup := g.anchors[iss]; dup {
				return nil, configError(fmt.Errorf("issuer %q configured twice", iss))
			}
			g.anchors[iss] = p
		}
	}
	// A failed New must not leave refresh loops behind.
	ctx, g.stop = context.WithCancel(ctx)
	if c.resolver != nil {
		g.dynamic = newResolvedIssuers(ctx, &c, g.now, keyLog)
	}
	g.cache = newVerifiedCache(c.verifiedCacheMax)
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
