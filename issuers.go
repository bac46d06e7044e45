package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"
)

// WithIssuerDiscovery trusts issuer and finds its keys through its OpenID
// Connect discovery document (issuer + "/.well-known/openid-configuration"),
// or else its RFC 8414 metadata. The document must name exactly this issuer
// and an https jwks_uri; it is refreshed like the key set.
func WithIssuerDiscovery(issuer string) Option {
	return func(c *config) error {
		if c.discovery != "" {
			return errors.New("WithIssuerDiscovery given twice: use WithTrustedIssuer for each issuer")
		}
		c.discovery = issuer
		if len(c.issuers) == 0 || c.issuers[len(c.issuers)-1] != issuer {
			c.issuers = append(c.issuers, issuer)
		}
		return nil
	}
}

// WithTrustedIssuer adds a trust anchor for tokens whose iss is issuer, with
// its own keys and, optionally, its own policy. opts may be the key options
// (WithJWKS, WithIssuerDiscovery(issuer), WithPublicKey, WithPEM,
// WithJWKSet, WithHMACSecret) and WithAudience, WithoutAudienceCheck,
// WithAlgorithms, WithLeeway, WithRequiredType; policy left unset comes
// from the guard-level options. The token's unverified iss only selects
// the anchor: an issuer not configured never causes a fetch.
func WithTrustedIssuer(issuer string, opts ...Option) Option {
	return func(c *config) error {
		ic, err := issuerOptions(issuer, opts)
		if err != nil {
			return err
		}
		c.trusted = append(c.trusted, ic)
		return nil
	}
}

// issuerOptions applies issuer-level options and refuses the others.
func issuerOptions(issuer string, opts []Option) (issuerConfig, error) {
	if issuer == "" {
		return issuerConfig{}, errors.New("empty issuer")
	}
	var sub config
	for _, o := range opts {
		if err := o(&sub); err != nil {
			return issuerConfig{}, fmt.Errorf("issuer %q: %v", issuer, err)
		}
	}
	ic := sub.issuerConfig
	sub.issuerConfig = issuerConfig{}
	if !reflect.DeepEqual(sub, config{}) {
		return issuerConfig{}, fmt.Errorf("issuer %q: only key and policy options apply to one issuer", issuer)
	}
	for _, iss := range ic.issuers {
		if iss != issuer {
			return issuerConfig{}, fmt.Errorf("issuer %q: WithIssuer or discovery of %q inside it", issuer, iss)
		}
	}
	ic.issuers = []string{issuer}
	if !ic.hasKeys() {
		return issuerConfig{}, fmt.Errorf("issuer %q has no keys", issuer)
	}
	return ic, nil
}

// An IssuerResolver decides at run time whether issuer is trusted, for
// multi-tenant services whose tenants are not known at start-up. It returns
// the options of [WithTrustedIssuer] for a trusted issuer, or nil options
// (or an error) for an untrusted one. It must not trust whatever it is
// given: check the issuer against your tenant records, or build its URL
// from a tenant ID, so a token cannot steer the guard to a host of its choosing.
type IssuerResolver func(ctx context.Context, issuer string) ([]Option, error)

// WithIssuerResolver consults resolve for issuers that are not configured.
// Answers are cached: up to maxIssuers trusted issuers (default 100; the
// least recently used is dropped, and its key refresh stopped), and
// refusals for a minute.
func WithIssuerResolver(resolve IssuerResolver, maxIssuers int) Option {
	return func(c *config) error {
		if resolve == nil {
			return errors.New("nil issuer resolver")
		}
		if maxIssuers <= 0 {
			maxIssuers = 100
		}
		c.resolver, c.maxDynamic = resolve, maxIssuers
		return nil
	}
}

const refusalTTL = time.Minute

// dynamicIssuers caches the policies of resolver-approved issuers.
type dynamicIssuers struct {
	ctx     context.Context
	cfg     *config
	now     func() time.Time
	log     *slog.Logger
	resolve IssuerResolver
	max     int

	mu      sync.Mutex
	entries map[string]*dynamicEntry
	refused map[string]time.Time
}

type dynamicEntry struct {
	policy   *policy
	remote   *remoteJWKS
	cancel   context.CancelFunc
	lastUsed time.Time
}

func newDynamicIssuers(ctx context.Context, c *config, now func() time.Time, log *slog.Logger) *dynamicIssuers {
	return &dynamicIssuers{
		ctx: ctx, cfg: c, now: now, log: log, resolve: c.resolver, max: c.maxDynamic,
		entries: make(map[string]*dynamicEntry),
		refused: make(map[string]time.Time),
	}
}

func (d *dynamicIssuers) policy(ctx context.Context, iss string) (*policy, error) {
	now := d.now()
	d.mu.Lock()
	if e, ok := d.entries[iss]; ok {
		e.lastUsed = now
		d.mu.Unlock()
		return e.policy, nil
	}
	if t, ok := d.refused[iss]; ok && now.Before(t.Add(refusalTTL)) {
		d.mu.Unlock()
		return nil, fail(ErrIssuer)
	}
	d.mu.Unlock()

	opts, err := d.resolve(ctx, iss)
	var ic issuerConfig
	if err == nil && opts != nil {
		ic, err = issuerOptions(iss, opts)
	}
	if err != nil || opts == nil {
		if err != nil {
			d.log.LogAttrs(ctx, slog.LevelDebug, "jwtguard: issuer refused by resolver",
				slog.String("reason", err.Error()))
		}
		d.mu.Lock()
		if len(d.refused) >= 4*d.max {
			clear(d.refused)
		}
		d.refused[iss] = now
		d.mu.Unlock()
		return nil, fail(ErrIssuer)
	}
	p, remote, err := buildPolicy(d.cfg, ic, d.now, d.log)
	if err != nil {
		return nil, fail(ErrIssuer)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.entries[iss]; ok { // resolved concurrently: keep the first
		return e.policy, nil
	}
	e := &dynamicEntry{policy: p, remote: remote, cancel: func() {}, lastUsed: now}
	if remote != nil {
		var rctx context.Context
		rctx, e.cancel = context.WithCancel(d.ctx)
		go remote.run(rctx)
	}
	if len(d.entries) >= d.max {
		d.evictLocked()
	}
	d.entries[iss] = e
	return p, nil
}

func (d *dynamicIssuers) evictLocked() {
	var oldest string
	var when time.Time
	for iss, e := range d.entries {
		if oldest == "" || e.lastUsed.Before(when) {
			oldest, when = iss, e.lastUsed
		}
	}
	d.entries[oldest].cancel()
	delete(d.entries, oldest)
}

func (d *dynamicIssuers) status() []KeySourceStatus {
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
