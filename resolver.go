package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// WithIssuerDiscovery trusts issuer and finds its keys through its OpenID
// Connect discovery document (issuer + "/.well-known/openid-configuration"),
// or else its RFC 8414 metadata. The document must name exactly this issuer
// and an https jwks_uri; it is refreshed like the key set.
func WithIssuerDiscovery(issuer string) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		if issuer == "" {
			return errors.New("WithIssuerDiscovery: empty issuer (an unset environment variable?)")
		}
		if c.discovery != "" {
			return errors.New("WithIssuerDiscovery given twice: use WithTrustedIssuer for each issuer")
		}
		c.discovery = issuer
		if len(c.issuers) == 0 || c.issuers[len(c.issuers)-1] != issuer {
			c.issuers = append(c.issuers, issuer)
		}
		return nil
	})
}

// WithTrustedIssuer adds a trust anchor for tokens whose iss is issuer, with
// its own keys and, optionally, its own policy: opts are the key options
// (WithJWKS, WithIssuerDiscovery(issuer), WithPublicKey, WithPEM,
// WithJWKSet, WithHMACSecret, WithKeySet) and the policy options
// (WithAudience, WithoutAudienceCheck, WithAlgorithms, WithLeeway,
// WithRequiredType, …); the compiler refuses the others. Policy left unset
// comes from the guard-level options. The token's unverified iss only
// selects the anchor: an issuer not configured never causes a fetch.
func WithTrustedIssuer(issuer string, opts ...IssuerOption) Option {
	return guardOption(func(c *config) error {
		ic, err := issuerOptions(issuer, opts)
		if err != nil {
			return err
		}
		c.trusted = append(c.trusted, ic)
		return nil
	})
}

// issuerOptions applies the options of one anchor.
func issuerOptions(issuer string, opts []IssuerOption) (anchorConfig, error) {
	if issuer == "" {
		return anchorConfig{}, errors.New("empty issuer")
	}
	var ic anchorConfig
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyIssuer(&ic); err != nil {
			return anchorConfig{}, fmt.Errorf("issuer %q: %v", issuer, err)
		}
	}
	for _, iss := range ic.issuers {
		if iss != issuer {
			return anchorConfig{}, fmt.Errorf("issuer %q: WithIssuer or discovery of %q inside it", issuer, iss)
		}
	}
	ic.issuers = []string{issuer}
	if !ic.hasKeys() {
		return anchorConfig{}, fmt.Errorf("issuer %q has no keys", issuer)
	}
	return ic, nil
}

// An IssuerResolver decides at run time whether issuer is trusted, for
// multi-tenant services whose tenants are not known at start-up. It returns
// the options of [WithTrustedIssuer] for a trusted issuer, or nil options
// for an untrusted one (remembered for RefusalTTL: 401). An error means it
// could not decide (its tenant store is down): nothing is remembered, and
// the issuer's tokens get 503 with Retry-After until it answers. It must not trust whatever it is
// given: check the issuer against your tenant records, or build its URL
// from a tenant ID, so a token cannot steer the guard to a host of its
// choosing. Its options need an audience (WithAudience, or a guard-level
// one) like every other trust anchor, or WithoutAudienceCheck.
type IssuerResolver func(ctx context.Context, issuer string) ([]IssuerOption, error)

// ResolverSettings tune [WithIssuerResolver]. The zero value of a field
// means its default.
type ResolverSettings struct {
	// MaxIssuers caps the approved issuers kept; the least recently used is
	// dropped, with its key refresh and its cached tokens. Default: 100.
	MaxIssuers int
	// ApprovalTTL is how long an approval holds. After it the resolver is
	// asked again on the issuer's next token; a refusal or an error then
	// stops the issuer's tokens at once. Default: 5 minutes.
	ApprovalTTL time.Duration
	// RefusalTTL is how long a refusal is remembered. Default: 1 minute.
	RefusalTTL time.Duration
	// LookupsPerSecond caps the calls of the resolver for issuers it has
	// not decided on yet (junk iss values cost at most this much); past it
	// tokens of undecided issuers get 503 with Retry-After. Burst: twice
	// the rate. Default: 10.
	LookupsPerSecond float64
}

func (s *ResolverSettings) fill() {
	if s.MaxIssuers <= 0 {
		s.MaxIssuers = 100
	}
	if s.ApprovalTTL <= 0 {
		s.ApprovalTTL = 5 * time.Minute
	}
	if s.RefusalTTL <= 0 {
		s.RefusalTTL = time.Minute
	}
	if s.LookupsPerSecond <= 0 {
		s.LookupsPerSecond = 10
	}
}

// WithIssuerResolver consults resolve for issuers that are not configured.
// Calls are single-flight per issuer and rate-limited; approvals and
// refusals are cached as [ResolverSettings] says.
func WithIssuerResolver(resolve IssuerResolver, settings ResolverSettings) Option {
	return guardOption(func(c *config) error {
		if resolve == nil {
			return errors.New("nil issuer resolver")
		}
		if c.resolver != nil {
			return errors.New("WithIssuerResolver given twice")
		}
		settings.fill()
		c.resolver, c.resolverSettings = resolve, settings
		return nil
	})
}

// dynamicIssuers caches the policies of resolver-approved issuers.
type resolvedIssuers struct {
	ctx      context.Context // set by start: bounds resolver calls and key refreshes
	wg       *goroutines     // the Guard's: every goroutine started here
	cfg      *config
	fc       fetchConfig
	now      func() time.Time
	log      *slog.Logger
	resolve  IssuerResolver
	settings ResolverSettings

	mu       sync.Mutex
	entries  map[string]*resolvedEntry
	refused  map[string]refusal
	inflight map[string]*resolveCall
	tokens   float64 // rate limiter bucket for undecided issuers
	filled   time.Time
}

type resolvedEntry struct {
	config     anchorConfig
	anchor     *anchor
	remote     *remoteJWKS
	cancel     context.CancelFunc
	lastUsed   time.Time
	approvedAt time.Time
}

// refusal is a remembered "no" of the resolver.
type refusal struct {
	at     time.Time
	reason string
}

type resolveCall struct {
	done   chan struct{}
	anchor *anchor
	err    error
}

func newResolvedIssuers(c *config, fc fetchConfig) *resolvedIssuers {
	return &resolvedIssuers{
		ctx: context.Background(), wg: new(goroutines),
		cfg: c, fc: fc, now: fc.now, log: fc.log, resolve: c.resolver, settings: c.resolverSettings,
		entries:  make(map[string]*resolvedEntry),
		refused:  make(map[string]refusal),
		inflight: make(map[string]*resolveCall),
		tokens:   2 * c.resolverSettings.LookupsPerSecond,
		filled:   fc.now(),
	}
}

// start lets resolver calls and the key sets of approved issuers run until
// ctx ends, counted in wg.
func (d *resolvedIssuers) start(ctx context.Context, wg *goroutines) {
	d.ctx, d.wg = ctx, wg
}

// policy returns the policy of iss: cached while its approval holds,
// otherwise from one resolver call shared by every request that waits for it.
func (d *resolvedIssuers) anchor(ctx context.Context, iss string) (*anchor, error) {
	now := d.now()
	d.mu.Lock()
	e, known := d.entries[iss]
	if known && now.Before(e.approvedAt.Add(d.settings.ApprovalTTL)) {
		e.lastUsed = now
		d.mu.Unlock()
		return e.anchor, nil
	}
	if r, ok := d.refused[iss]; ok && now.Before(r.at.Add(d.settings.RefusalTTL)) {
		d.mu.Unlock()
		return nil, failf(ErrIssuer, "issuer %s refused by the resolver %s ago: %s", quote(iss), ago(now.Sub(r.at)), r.reason)
	}
	call := d.inflight[iss]
	if call == nil {
		// Re-checking an approved issuer is not rate-limited: the limit
		// is for junk, and a known tenant must not be starved by it.
		if !known && !d.takeTokenLocked(now) {
			d.mu.Unlock()
			e := failf(ErrKeysUnavailable, "issuer %s: resolver lookups over their rate (%v per second)", quote(iss), d.settings.LookupsPerSecond)
			e.RetryAfter = 1
			return nil, e
		}
		call = &resolveCall{done: make(chan struct{})}
		if !d.wg.Go(func() { d.decide(iss, call) }) {
			d.mu.Unlock()
			return nil, failf(ErrKeysUnavailable, "issuer %s: the guard is closed", quote(iss))
		}
		d.inflight[iss] = call
	}
	d.mu.Unlock()
	select {
	case <-call.done:
		return call.anchor, call.err
	case <-ctx.Done():
		e := failf(ErrKeysUnavailable, "issuer %s: the request ended before the resolver answered", quote(iss))
		e.RetryAfter = 1
		return nil, e
	}
}

// takeTokenLocked is a token bucket: LookupsPerSecond, burst twice that.
func (d *resolvedIssuers) takeTokenLocked(now time.Time) bool {
	rate := d.settings.LookupsPerSecond
	d.tokens = min(2*rate, d.tokens+now.Sub(d.filled).Seconds()*rate)
	d.filled = now
	if d.tokens < 1 {
		return false
	}
	d.tokens--
	return true
}

// decide asks the resolver about iss (with the guard's context, so one
// impatient request cannot fail the call for the others) and records the
// answer.
func (d *resolvedIssuers) decide(iss string, call *resolveCall) {
	start := d.now()
	ic, err := d.ask(iss)
	now := d.now()
	d.mu.Lock()
	defer func() {
		delete(d.inflight, iss)
		report := d.resolverDecidedLocked(start, call)
		d.mu.Unlock()
		if report != nil { // before the waiters go on: their decision follows this one
			report()
		}
		close(call.done)
	}()
	var refused *resolverRefusal
	switch {
	case err != nil && !errors.As(err, &refused):
		call.err = d.failedLocked(iss, err)
	case err != nil:
		call.err = d.refusedLocked(iss, now, err)
	default:
		call.anchor, call.err = d.approvedLocked(iss, ic, now)
	}
}

// failedLocked handles a resolver that failed (its tenant store is down,
// say): nothing is known, so nothing is remembered, and the issuer's tokens
// get 503 until it answers. An approved issuer whose re-check fails stops too.
func (d *resolvedIssuers) failedLocked(iss string, err error) error {
	d.log.LogAttrs(d.ctx, slog.LevelWarn, "jwtguard: issuer resolver failed",
		slog.String("iss", clip(iss)), slog.String("reason", err.Error()))
	if d.entries[iss] != nil {
		d.dropLocked(iss)
	}
	e := failf(ErrKeysUnavailable, "issuer %s: the resolver failed: %v", quote(iss), err)
	e.RetryAfter = 1
	return e
}

// refusedLocked remembers a refusal for RefusalTTL, in a bounded map.
func (d *resolvedIssuers) refusedLocked(iss string, now time.Time, err error) error {
	d.log.LogAttrs(d.ctx, slog.LevelDebug, "jwtguard: issuer refused by resolver",
		slog.String("iss", clip(iss)), slog.String("reason", err.Error()))
	if d.entries[iss] != nil {
		d.dropLocked(iss)
	}
	if len(d.refused) >= 4*d.settings.MaxIssuers {
		for k, r := range d.refused { // forget expired refusals, then all
			if !now.Before(r.at.Add(d.settings.RefusalTTL)) {
				delete(d.refused, k)
			}
		}
		if len(d.refused) >= 4*d.settings.MaxIssuers {
			clear(d.refused)
		}
	}
	d.refused[iss] = refusal{at: now, reason: err.Error()}
	return failf(ErrIssuer, "issuer %s refused by the resolver: %v", quote(iss), err)
}

// approvedLocked builds the anchor of an approved issuer, or keeps the one
// it has when the answer is the same (its keys and cached tokens with it).
func (d *resolvedIssuers) approvedLocked(iss string, ic anchorConfig, now time.Time) (*anchor, error) {
	old := d.entries[iss]
	if old != nil && old.config.equal(&ic) {
		old.approvedAt, old.lastUsed = now, now
		old.anchor.approvedTill.Store(now.Add(d.settings.ApprovalTTL).UnixNano())
		return old.anchor, nil
	}
	p, remote, err := buildAnchor(d.cfg, ic, d.fc, nil)
	if err != nil {
		d.log.LogAttrs(d.ctx, slog.LevelWarn, "jwtguard: resolver approved an issuer with an unusable configuration",
			slog.String("iss", clip(iss)), slog.String("reason", err.Error()))
		if old != nil {
			d.dropLocked(iss)
		}
		return nil, failf(ErrIssuer, "issuer %s: the resolver's configuration is unusable: %v", quote(iss), err)
	}
	if old != nil {
		d.dropLocked(iss)
	}
	p.approvedTill.Store(now.Add(d.settings.ApprovalTTL).UnixNano())
	e := &resolvedEntry{config: ic, anchor: p, remote: remote, cancel: func() {}, lastUsed: now, approvedAt: now}
	if remote != nil {
		var rctx context.Context
		rctx, e.cancel = context.WithCancel(d.ctx)
		remote.start(rctx, d.wg)
	}
	if len(d.entries) >= d.settings.MaxIssuers {
		d.evictLocked()
	}
	d.entries[iss] = e
	return p, nil
}

// ask calls the resolver and checks its options.
func (d *resolvedIssuers) ask(iss string) (_ anchorConfig, err error) {
	ctx, cancel := context.WithTimeout(d.ctx, resolverTimeout)
	defer cancel()
	defer func() { // the issuer comes from a token: a resolver's panic must not take the process down
		if r := recover(); r != nil {
			err = fmt.Errorf("resolver panicked: %v", r)
		}
	}()
	opts, err := d.resolve(ctx, iss)
	if err != nil {
		return anchorConfig{}, err
	}
	if opts == nil {
		return anchorConfig{}, &resolverRefusal{"not trusted"}
	}
	ic, err := issuerOptions(iss, opts)
	if err != nil {
		return anchorConfig{}, &resolverRefusal{err.Error()}
	}
	return ic, nil
}

// resolverRefusal is the resolver's "no" (nil options, or options that do
// not configure an anchor), as opposed to its failure.
type resolverRefusal struct{ reason string }

func (r *resolverRefusal) Error() string { return r.reason }

const resolverTimeout = 10 * time.Second

func (d *resolvedIssuers) evictLocked() {
	var oldest string
	var when time.Time
	for iss, e := range d.entries {
		if oldest == "" || e.lastUsed.Before(when) {
			oldest, when = iss, e.lastUsed
		}
	}
	d.dropLocked(oldest)
}

// dropLocked forgets an issuer: its key refresh stops and the tokens
// cached as verified by its policy stop being served.
func (d *resolvedIssuers) dropLocked(iss string) {
	e := d.entries[iss]
	e.anchor.retired.Store(true)
	e.cancel()
	delete(d.entries, iss)
}

func (d *resolvedIssuers) status() []KeySourceStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []KeySourceStatus
	for _, e := range d.entries {
		if e.remote != nil {
			out = append(out, e.remote.status())
		}
	}
	return out
}
