package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Observer receives what the guard does, for metrics and traces (the
// nested module github.com/jwtguard/jwtguard/otel turns it into
// OpenTelemetry instruments and spans). Every field is optional: a nil
// callback costs a nil check and nothing is measured for it, so the zero
// Observer is free. A struct of callbacks rather than an interface for that
// reason — the guard can tell which events nobody wants and skip building
// them (and reading the clock) — and because new events can be added as new
// fields without breaking anyone's implementation.
//
// Events carry nothing with unbounded cardinality by default: no token, no
// sub, jti or kid, and issuers only as configured (a refused token's
// unknown iss is reported as "unknown"). Callbacks run on the request's
// goroutine (OnDecision) or on a background goroutine (the rest), must be
// safe for concurrent use and should return quickly. Set it with
// [WithObserver].
type Observer struct {
	// OnDecision is called once per Authenticate or Verify call (a request
	// through Handler is one decision), with the request's context.
	OnDecision func(context.Context, Decision)
	// OnKeyFetch is called after every fetch of a key set (discovery
	// included), successful or not.
	OnKeyFetch func(context.Context, KeyFetch)
	// OnKeySetState is called when a key set changes state: first loaded,
	// stale (fetches failing past its refresh time), unusable (past its
	// stale window), recovered. Stale and unusable are noticed on the next
	// fetch attempt, so within the retry backoff (at most MaxBackoff).
	OnKeySetState func(KeySetState)
	// OnCacheEvict is called with the number of verified tokens evicted from
	// the verified-token cache to make room for a new one.
	OnCacheEvict func(n int)
	// OnResolverDecision is called after each call of the issuer resolver.
	OnResolverDecision func(ResolverDecision)
	// OnRevocationLag is for revocation mirrors (a fleet's shared
	// revocation list) to report how far behind they are; the guard itself
	// never calls it. See [Observer.RevocationLag].
	OnRevocationLag func(RevocationLag)
	// OnDPoPReplay is for proof-of-possession checks to report a replayed
	// proof; see [Observer.DPoPReplay].
	OnDPoPReplay func(context.Context, DPoPReplay)
}

// Outcome is a decision's result.
type Outcome string

// The outcomes of a decision.
const (
	Accepted Outcome = "accepted"
	Refused  Outcome = "refused"
	// Passed is a request let through without claims:
	// [WithCredentialsOptional] without a token, or a passed preflight.
	Passed Outcome = "passed"
)

// UnknownIssuer stands for an issuer that is not configured, in events.
const UnknownIssuer = "unknown"

// Decision is one verdict on a request or a token.
type Decision struct {
	Outcome Outcome
	// Reason is the refusal's sentinel (ErrExpired, ErrAudience, …), for
	// errors.Is and as a label with [ReasonName]; nil unless refused.
	Reason error
	// Status is the HTTP status of the refusal; 0 unless refused.
	Status int
	// Issuer is the configured issuer the token matched: an issuer given in
	// configuration, an issuer template as written ("…/{tid}/v2.0"),
	// "resolver" for issuers approved by a resolver, "any" with
	// WithoutIssuerCheck, [UnknownIssuer] for the rest, "" when there was no
	// token to read.
	Issuer string
	// Alg is the token's algorithm when it is one of the JOSE signature
	// algorithms, "other" when it is not, "" when unread.
	Alg string
	// CacheHit reports whether the verified-token cache answered.
	CacheHit bool
	// Start is when the guard began the decision, by the guard's clock.
	Start time.Time
	clock func() time.Time
}

// Duration is the time the decision has taken so far: call it within
// OnDecision. It reads the guard's clock then, so that a hook that does not
// time decisions costs no clock read (one is about 20-70 ns).
func (d Decision) Duration() time.Duration {
	if d.clock == nil {
		return 0
	}
	return d.clock().Sub(d.Start)
}

// KeyFetchResult is how a key fetch ended.
type KeyFetchResult string

// The results of a key fetch.
const (
	FetchOK            KeyFetchResult = "ok"
	FetchUnavailable   KeyFetchResult = "unavailable"   // network, timeout, 5xx: retried with backoff
	FetchMisconfigured KeyFetchResult = "misconfigured" // 404, not a key set, another issuer
)

// KeyFetch is one fetch of a key set.
type KeyFetch struct {
	// Source names the key set as configured: its JWKS URL, or the issuer
	// whose discovery document names it.
	Source string
	// Discovery reports whether the key set is found by OIDC / RFC 8414
	// discovery.
	Discovery bool
	// DiscoveryDuration is the part of Duration spent reading the discovery
	// metadata, which comes first; 0 when its jwks_uri was still fresh.
	DiscoveryDuration time.Duration
	Result            KeyFetchResult
	// StatusCode is the last HTTP status seen (200 on success); 0 when no
	// response came (network error, timeout).
	StatusCode int
	Start      time.Time
	Duration   time.Duration
	// Keys is the number of keys in the set after a successful fetch; Added
	// and Removed count the keys that differ from the set before it.
	Keys, Added, Removed int
	// Err is why the fetch failed (operators' text: it may hold the URL).
	Err error
}

// KeySetStateKind names a key set's state change.
type KeySetStateKind string

// The state changes of a key set.
const (
	KeySetLoaded    KeySetStateKind = "loaded"    // keys for the first time
	KeySetStale     KeySetStateKind = "stale"     // fetches failing past the refresh time; old keys still served
	KeySetUnusable  KeySetStateKind = "unusable"  // past the stale window: requests get 503
	KeySetRecovered KeySetStateKind = "recovered" // a fetch succeeded after stale or unusable
)

// KeySetState is a change of a key set's state.
type KeySetState struct {
	Source string
	State  KeySetStateKind
	At     time.Time
}

// ResolverDecision is one answer of an [IssuerResolver]. The issuer is not
// in it: it comes from a token, and a refused one is the attacker's choice.
type ResolverDecision struct {
	// Result is "approved", "refused" (by the resolver or for an unusable
	// answer) or "failed" (the resolver returned an error: 503).
	Result   string
	Duration time.Duration
	// Cached is the number of approved issuers held after the decision.
	Cached int
}

// RevocationLag is how far a revocation mirror trails its source.
type RevocationLag struct {
	Source string // the mirror, as configured (e.g. "redis")
	Lag    time.Duration
	Fresh  bool // within the mirror's own staleness bound
}

// DPoPReplay is a proof-of-possession proof seen twice.
type DPoPReplay struct {
	Issuer string // as in Decision.Issuer
}

// RevocationLag reports lag to o.OnRevocationLag, if set. Safe on a nil o.
func (o *Observer) RevocationLag(lag RevocationLag) {
	if o != nil && o.OnRevocationLag != nil {
		o.OnRevocationLag(lag)
	}
}

// DPoPReplay reports a replay to o.OnDPoPReplay, if set. Safe on a nil o.
func (o *Observer) DPoPReplay(ctx context.Context, r DPoPReplay) {
	if o != nil && o.OnDPoPReplay != nil {
		o.OnDPoPReplay(ctx, r)
	}
}

// WithObserver sends the guard's (or key set's) events to o: decisions,
// key fetches, key-set state changes, cache evictions, resolver decisions.
// A later WithObserver replaces an earlier one. Default: none.
func WithObserver(o Observer) FetchOption {
	return fetchOption(func(c *keySetConfig) error {
		c.observer = &o
		return nil
	})
}

// ReasonName is a short, stable label for a refusal's sentinel:
// "expired", "audience", "keys_unavailable", …; "other" for an error that
// is none of the sentinels.
func ReasonName(reason error) string {
	if reason == nil {
		return ""
	}
	for _, r := range reasonNames {
		if errors.Is(reason, r.err) {
			return r.name
		}
	}
	return "other"
}

var reasonNames = []struct {
	err  error
	name string
}{
	{ErrNoToken, "no_token"}, {ErrMultipleTokens, "multiple_tokens"}, {ErrInvalidRequest, "invalid_request"},
	{ErrTokenTooLarge, "token_too_large"}, {ErrMalformedToken, "malformed"}, {ErrEncryption, "encryption"},
	{ErrUnsupportedAlgorithm, "algorithm"}, {ErrUnsupportedHeader, "header"}, {ErrUnknownKey, "unknown_key"},
	{ErrSignature, "signature"}, {ErrExpired, "expired"}, {ErrNotYetValid, "not_yet_valid"},
	{ErrIssuer, "issuer"}, {ErrAudience, "audience"}, {ErrMissingClaim, "missing_claim"},
	{ErrRevoked, "revoked"}, {ErrRevocationUnavailable, "revocation_unavailable"},
	{ErrKeysUnavailable, "keys_unavailable"}, {ErrKeysMisconfigured, "keys_misconfigured"},
	{ErrCrossOrigin, "cross_origin"}, {ErrInsufficientScope, "insufficient_scope"}, {ErrForbidden, "forbidden"},
	{ErrInvalidDPoPProof, "dpop_proof"}, {ErrUseDPoPNonce, "dpop_nonce"}, {ErrTokenBinding, "token_binding"},
	{ErrReplayCheckUnavailable, "replay_check_unavailable"},
	{ErrRejected, "rejected"},
}

// algLabel is alg when it is a JOSE signature algorithm name (or empty),
// "other" otherwise: a refused token's header is the sender's choice.
func algLabel(alg string) string {
	switch alg {
	case "", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
		"EdDSA", "Ed25519", "HS256", "HS384", "HS512", "none":
		return alg
	}
	return "other"
}

// observation is what Verify learns for a decision event.
type observation struct {
	start time.Time
	hit   bool
}

// observeAuthenticate is Authenticate with a decision event.
func (g *Guard) observeAuthenticate(r *http.Request) (*Claims, error) {
	o := observation{start: g.now()}
	c, err := g.authenticate(r, &o)
	g.decided(r.Context(), &o, c, err)
	return c, err
}

// observeVerify is Verify with a decision event.
func (g *Guard) observeVerify(ctx context.Context, token string) (*Claims, error) {
	o := observation{start: g.now()}
	c, err := g.verify(ctx, token, false, &o)
	g.decided(ctx, &o, c, err)
	return c, err
}

func (g *Guard) decided(ctx context.Context, o *observation, c *Claims, err error) {
	d := Decision{CacheHit: o.hit, Start: o.start, clock: g.now}
	switch {
	case err != nil:
		e := asError(err, ErrRejected)
		d.Outcome, d.Reason, d.Status = Refused, e.Err, e.Status
		if e.Token != nil {
			d.Issuer, d.Alg = g.issuerLabel(e.Token.Issuer), algLabel(e.Token.Alg)
		}
	case c == nil:
		d.Outcome = Passed
	default:
		d.Outcome = Accepted
		d.Issuer, d.Alg = g.issuerLabel(c.jc.Issuer), algLabel(c.header.Alg)
	}
	g.onDecision(ctx, d)
}

// issuerLabel maps a token's iss to what configuration calls it.
func (g *Guard) issuerLabel(iss string) string {
	if _, ok := g.anchors[iss]; ok {
		return iss
	}
	if g.anyIssuer != nil {
		return "any"
	}
	for _, t := range g.templates {
		if len(iss) > len(t.prefix)+len(t.suffix) && iss[:len(t.prefix)] == t.prefix && iss[len(iss)-len(t.suffix):] == t.suffix {
			return t.prefix + tenantPlaceholder + t.suffix
		}
	}
	if g.dynamic != nil && g.dynamic.approved(iss) {
		return "resolver"
	}
	return UnknownIssuer
}

// approved reports whether the resolver has approved iss (and not evicted it).
func (d *resolvedIssuers) approved(iss string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.entries[iss]
	return ok
}

// resolverDecidedLocked returns the report of one resolver call, to be
// made once d.mu is released; nil when nobody listens. Callers hold d.mu.
func (d *resolvedIssuers) resolverDecidedLocked(start time.Time, call *resolveCall) func() {
	if d.fc.obs == nil || d.fc.obs.OnResolverDecision == nil {
		return nil
	}
	ev := ResolverDecision{Result: "approved", Duration: d.now().Sub(start), Cached: len(d.entries)}
	switch {
	case call.err != nil && errors.Is(call.err, ErrKeysUnavailable):
		ev.Result = "failed"
	case call.err != nil:
		ev.Result = "refused"
	}
	f := d.fc.obs.OnResolverDecision
	return func() { callHook(d.log, func() { f(ev) }) }
}

// httpStatusError is a key or discovery document answered with a status
// other than 200.
type httpStatusError struct{ code int }

func (e httpStatusError) Error() string { return fmt.Sprintf("HTTP status %d", e.code) }

// fetchObserved reports a finished fetch of j and the state change it
// makes, if any. prev is the state before the fetch, st the new one (nil on
// failure). Called by runFetch only, so one at a time per source.
func (j *remoteJWKS) fetchObserved(ctx context.Context, start, now time.Time, discovered time.Duration, prev, st *jwksState, err error) {
	obs := j.obs
	if obs == nil || (obs.OnKeyFetch == nil && obs.OnKeySetState == nil) {
		return
	}
	if obs.OnKeyFetch != nil {
		ev := KeyFetch{Source: j.name(), Discovery: j.discover != nil, Result: FetchOK, StatusCode: http.StatusOK,
			Start: start, Duration: now.Sub(start), DiscoveryDuration: discovered, Err: err}
		if err != nil {
			ev.Result, ev.StatusCode = FetchUnavailable, 0
			if isPermanent(err) {
				ev.Result = FetchMisconfigured
			}
			var se httpStatusError
			if errors.As(err, &se) {
				ev.StatusCode = se.code
			}
		} else {
			ev.Keys = len(st.set.Keys)
			ev.Added, ev.Removed = keyDiff(prev, st)
		}
		callHook(j.log, func() { obs.OnKeyFetch(ctx, ev) })
	}
	if obs.OnKeySetState == nil {
		return
	}
	var kind KeySetStateKind
	j.mu.Lock()
	switch {
	case err == nil && prev == nil:
		kind = KeySetLoaded
	case err == nil && j.reported != "":
		kind = KeySetRecovered
	case err != nil && prev != nil && !now.Before(prev.freshTill.Add(j.settings.StaleFor)):
		kind = KeySetUnusable
	case err != nil && prev != nil && !now.Before(prev.freshTill):
		kind = KeySetStale
	}
	switch {
	case kind == KeySetLoaded || kind == KeySetRecovered:
		j.reported = ""
	case kind == "" || kind == j.reported:
		kind = ""
	default:
		j.reported = kind
	}
	j.mu.Unlock()
	if kind != "" {
		ev := KeySetState{Source: j.name(), State: kind, At: now}
		callHook(j.log, func() { obs.OnKeySetState(ev) })
	}
}

// keyDiff counts the keys of st that prev lacked and the reverse, by
// identity of kid and algorithm (keys are compared as SubsetOf does).
func keyDiff(prev, st *jwksState) (added, removed int) {
	if prev == nil {
		return len(st.set.Keys), 0
	}
	for _, k := range st.set.Keys {
		if !slices.ContainsFunc(prev.set.Keys, k.Equal) {
			added++
		}
	}
	for _, k := range prev.set.Keys {
		if !slices.ContainsFunc(st.set.Keys, k.Equal) {
			removed++
		}
	}
	return added, removed
}
