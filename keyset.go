package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard/internal/jose"
)

// keySource supplies the keys of one trust anchor.
type keySource interface {
	// keys returns the current keys, loading them the first time; now is
	// the request's time, read already (usableAt).
	keys(ctx context.Context, now time.Time) (*jose.KeySet, error)
	// refresh is called for an unknown kid; it may fetch, within its rate limits.
	refresh(ctx context.Context, kid string) (*jose.KeySet, error)
	// epoch changes whenever a key is removed or replaced, which
	// invalidates tokens cached as verified by the older keys.
	epoch() uint64
	// usableAt reports whether keys are loaded and not past their stale
	// window at now, a time the caller has read already (a cache hit reads
	// the clock once).
	usableAt(now time.Time) bool
}

type staticKeys struct{ set *jose.KeySet }

func (s staticKeys) keys(context.Context, time.Time) (*jose.KeySet, error) { return s.set, nil }
func (s staticKeys) refresh(context.Context, string) (*jose.KeySet, error) { return s.set, nil }
func (s staticKeys) epoch() uint64                                         { return 0 }
func (s staticKeys) usableAt(time.Time) bool                               { return true }

// KeySourceStatus is a snapshot of one fetched key set, for health endpoints.
type KeySourceStatus struct {
	URL           string    `json:"url,omitempty"`
	Issuer        string    `json:"issuer,omitempty"` // for discovered key sets
	KeyIDs        []string  `json:"kids,omitempty"`
	Ready         bool      `json:"ready"` // keys are loaded and within their stale window
	Stale         bool      `json:"stale"` // serving keys past their refresh time because fetches fail
	LastSuccess   time.Time `json:"last_success,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorAt   time.Time `json:"last_error_at,omitzero"`
	NextRefresh   time.Time `json:"next_refresh,omitzero"`
	Fetches       uint64    `json:"fetches"`
	FetchFailures uint64    `json:"fetch_failures"`
	UnknownKIDs   uint64    `json:"unknown_kid_refreshes"`
	SkippedKeys   []string  `json:"skipped_keys,omitempty"`
}

// remoteJWKS is a key set fetched over HTTP and kept fresh: background
// refresh ahead of expiry, single-flight fetches, a cooldown for unknown
// kids, a negative cache of unknown kids, and stale-if-error with backoff.
//
// Its states, read from state and the clock:
//
//	never loaded  state == nil: a request waits for one fetch (within backoff)
//	fresh         now < freshTill: keys served, nothing to do
//	due           freshTill <= now: the loop refreshes; keys still served
//	stale         fetches failing past freshTill: keys served until freshTill+StaleFor
//	unusable      past freshTill+StaleFor: requests get keysUnavailable
//
// Who writes what: state is published only by runFetch, in one atomic
// store (keys and epoch together); the fields under mu are written by
// runFetch and by refresh (lastUnknown, negative); the run goroutine only
// reads. Requests never block on a fetch once keys are loaded.
type remoteJWKS struct {
	url      string     // the JWKS URL, or "" when discover finds it
	discover *discovery // OIDC / RFC 8414 discovery, or nil
	ownClock bool       // a shared KeySet's: usableAt reads it rather than take a guard's time
	fetchConfig
	base context.Context // bounds every fetch: cancelled by Close or New's ctx
	wg   *goroutines     // the goroutines this source starts

	state      atomic.Pointer[jwksState]
	kick       chan struct{} // asks the background loop to fetch now
	loaded     chan struct{} // closed after the first successful fetch
	loadedOnce sync.Once

	mu          sync.Mutex
	inflight    *fetchCall
	lastUnknown time.Time // start of the last fetch for an unknown kid, for the cooldown
	failures    int       // consecutive failures, for backoff
	nextAttempt time.Time // no request-driven fetch before this, after failures
	negative    map[string]time.Time
	lastErr     error
	lastErrAt   time.Time
	nextRefresh time.Time
	failing     bool            // the last fetch failed: logged once per change
	reported    KeySetStateKind // the last stale/unusable change reported to the Observer

	fetches, fetchFailures, unknownKIDs atomic.Uint64
}

// jwksState is one published snapshot of a fetched set. The keys and their
// epoch change together, in one atomic store, so a verification can never
// see new keys under an old epoch or old keys under a new one.
type jwksState struct {
	url       string
	set       *jose.KeySet
	epoch     uint64 // bumped when a key is removed or replaced
	fetchedAt time.Time
	freshTill time.Time // refresh due
	skipped   []string
}

type fetchCall struct {
	done chan struct{}
	err  error
}

const maxNegativeKIDs = 1024

// newKeySource returns the source of the key set at jwksURL, or, with
// discoverIssuer, of the key set that issuer's metadata names (on its own
// host or one of hosts). It fetches nothing until started.
func newKeySource(jwksURL, discoverIssuer string, hosts []string, fc fetchConfig) (*remoteJWKS, error) {
	j := &remoteJWKS{
		fetchConfig: fc,
		base:        context.Background(),
		wg:          new(goroutines),
		kick:        make(chan struct{}, 1),
		loaded:      make(chan struct{}),
		negative:    make(map[string]time.Time),
	}
	if discoverIssuer != "" {
		if err := checkKeyURL(discoverIssuer, fc.allowHTTP); err != nil {
			return nil, err
		}
		j.discover = &discovery{issuer: discoverIssuer, hosts: hosts, client: fc.client, allowHTTP: fc.allowHTTP, settings: fc.settings, now: fc.now}
		return j, nil
	}
	if err := checkKeyURL(jwksURL, fc.allowHTTP); err != nil {
		return nil, err
	}
	j.url = jwksURL
	return j, nil
}

// start runs the background refresh until ctx ends; every goroutine of
// the source is counted in wg.
func (j *remoteJWKS) start(ctx context.Context, wg *goroutines) {
	j.base, j.wg = ctx, wg
	wg.Go(func() { j.run(ctx) })
}

// keys returns the keys to verify with. With keys loaded it never blocks:
// refreshing is the background loop's job. Before the first load it waits
// for one fetch (bounded by FetchTimeout).
func (j *remoteJWKS) keys(ctx context.Context, now time.Time) (*jose.KeySet, error) {
	if st := j.usableStateAt(j.judgedAt(now)); st != nil {
		return st.set, nil
	}
	// Never loaded, or past the stale window: try a fetch, within backoff.
	if err := j.fetchWithinBackoff(ctx); err != nil {
		return nil, err
	}
	if st := j.usableState(); st != nil {
		return st.set, nil
	}
	return nil, j.unavailable()
}

// usableState returns the loaded keys unless there are none or they are
// past their stale window.
func (j *remoteJWKS) usableState() *jwksState { return j.usableStateAt(j.now()) }

func (j *remoteJWKS) usableStateAt(now time.Time) *jwksState {
	st := j.state.Load()
	if st == nil || !now.Before(st.freshTill.Add(j.settings.StaleFor)) {
		return nil
	}
	return st
}

// refresh fetches for an unknown kid, at most once per cooldown, and
// remembers kids that stayed unknown so they cause no more fetches.
func (j *remoteJWKS) refresh(ctx context.Context, kid string) (*jose.KeySet, error) {
	now := j.now()
	j.mu.Lock()
	if t, ok := j.negative[kid]; ok && now.Before(t.Add(j.settings.UnknownKIDCooldown)) {
		j.mu.Unlock()
		return j.currentSet(), nil
	}
	cooling := !j.lastUnknown.IsZero() && now.Before(j.lastUnknown.Add(j.settings.UnknownKIDCooldown))
	if !cooling {
		j.lastUnknown = now
	}
	j.mu.Unlock()
	if !cooling {
		j.unknownKIDs.Add(1)
		if err := j.fetchNow(ctx); err != nil && j.currentSet() == nil {
			return nil, err
		}
	}
	set := j.currentSet()
	if _, known := set.Candidates(kid, "", nil); !known && kid != "" {
		j.mu.Lock()
		if len(j.negative) >= maxNegativeKIDs {
			clear(j.negative) // crude but bounded; a flood only costs one fetch per cooldown anyway
		}
		j.negative[kid] = j.now()
		j.mu.Unlock()
	}
	return set, nil
}

func (j *remoteJWKS) currentSet() *jose.KeySet {
	if st := j.state.Load(); st != nil {
		return st.set
	}
	return nil
}

// keysUnavailable is the key layer's answer when it has no usable keys:
// why, and when to try again. The Guard turns it into an HTTP answer.
type keysUnavailable struct {
	source     string
	cause      error // nil: not loaded yet
	retryAfter time.Duration
}

func (e *keysUnavailable) Error() string {
	if e.cause == nil {
		return "keys from " + e.source + " not loaded yet"
	}
	return "keys from " + e.source + ": " + e.cause.Error()
}

func (e *keysUnavailable) Unwrap() error { return e.cause }

// unavailable describes why there are no usable keys.
func (j *remoteJWKS) unavailable() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return &keysUnavailable{source: j.name(), cause: j.lastErr, retryAfter: j.nextAttempt.Sub(j.now())}
}

// keysError is the Guard's answer to a key layer without keys: 503 with
// Retry-After while the failure may pass, 500 when the source answers
// wrongly (a permanent failure), the reason as detail.
func keysError(err error) error {
	var ku *keysUnavailable
	if !errors.As(err, &ku) {
		return err
	}
	if isPermanent(ku) {
		return failf(ErrKeysMisconfigured, "%v", ku)
	}
	e := failf(ErrKeysUnavailable, "%v", ku)
	e.RetryAfter = max(1, int(ku.retryAfter.Round(time.Second)/time.Second))
	return e
}

// fetchNow joins the fetch in flight or starts one, whatever the backoff:
// for the background loop, an unknown kid (within its cooldown) and start-up.
func (j *remoteJWKS) fetchNow(ctx context.Context) error { return j.join(ctx, false) }

// fetchWithinBackoff is fetchNow for a request that found no usable keys:
// after failures it waits for the backoff instead of adding load.
func (j *remoteJWKS) fetchWithinBackoff(ctx context.Context) error { return j.join(ctx, true) }

// join joins the fetch in flight or starts one. A waiter gives up when its
// own ctx ends, without cancelling the fetch for the others.
func (j *remoteJWKS) join(ctx context.Context, respectBackoff bool) error {
	j.mu.Lock()
	call := j.inflight
	if call == nil {
		// A request found no keys, but a fetch may have ended since it
		// looked: then there is nothing to do.
		if respectBackoff && j.usableState() != nil {
			j.mu.Unlock()
			return nil
		}
		now := j.now()
		if respectBackoff && now.Before(j.nextAttempt) {
			j.mu.Unlock()
			return j.unavailable()
		}
		call = &fetchCall{done: make(chan struct{})}
		if !j.wg.Go(func() { j.runFetch(call) }) { // closed
			j.mu.Unlock()
			return j.unavailable()
		}
		j.inflight = call
	}
	j.mu.Unlock()
	select {
	case <-call.done:
		if call.err != nil {
			return j.unavailable()
		}
		return nil
	case <-ctx.Done():
		return j.unavailable()
	}
}

func (j *remoteJWKS) runFetch(call *fetchCall) {
	ctx, cancel := context.WithTimeout(j.base, j.settings.FetchTimeout)
	defer cancel()
	start, prev := j.now(), j.state.Load()
	st, discovered, err := j.fetch(ctx)
	now := j.now()
	j.mu.Lock()
	j.fetches.Add(1)
	changed := j.failing != (err != nil)
	j.failing = err != nil
	var oldSkipped []string
	if old := j.state.Load(); old != nil {
		oldSkipped = old.skipped
	}
	if err != nil {
		j.fetchFailures.Add(1)
		j.failures++
		j.lastErr, j.lastErrAt = err, now
		j.nextAttempt = now.Add(j.backoff())
		j.nextRefresh = j.nextAttempt
	} else {
		j.failures = 0
		j.lastErr = nil
		j.nextAttempt = time.Time{}
		if old := j.state.Load(); old != nil {
			st.epoch = old.epoch
			if !old.set.SubsetOf(st.set) {
				st.epoch++
			}
		}
		j.state.Store(st)
		j.loadedOnce.Do(func() { close(j.loaded) })
		clear(j.negative)
		j.nextRefresh = refreshAt(st.fetchedAt, st.freshTill)
	}
	call.err = err
	if j.obs != nil {
		// Reported while this call is still in flight, so the next fetch's
		// report cannot overtake this one, and before waiters wake.
		j.mu.Unlock()
		j.fetchObserved(ctx, start, now, discovered, prev, st, err)
		j.mu.Lock()
	}
	j.inflight = nil
	j.mu.Unlock()
	close(call.done)
	// Failures are logged when they start and when they end, not on every
	// retry: a long outage is one line, not thousands.
	switch {
	case err != nil:
		level, msg := slog.LevelDebug, "jwtguard: key fetch failed again"
		if changed {
			level, msg = slog.LevelWarn, "jwtguard: key fetch failing; serving the last good keys while they last"
			if isPermanent(err) {
				level, msg = slog.LevelError, "jwtguard: key source misconfigured; retrying with backoff"
			}
		}
		j.log.LogAttrs(ctx, level, msg, slog.String("source", j.name()), slog.String("reason", err.Error()))
		if j.onError != nil {
			callHook(j.log, func() { j.onError(j.name(), err) })
		}
	case changed:
		j.log.LogAttrs(ctx, slog.LevelInfo, "jwtguard: key fetch recovered", slog.String("source", j.name()))
	}
	if err == nil && len(st.skipped) > 0 && !slices.Equal(st.skipped, oldSkipped) {
		j.log.LogAttrs(ctx, slog.LevelWarn, "jwtguard: keys skipped in key set",
			slog.String("source", j.name()), slog.Any("reasons", st.skipped))
	}
	select { // wake the loop so it reschedules
	case j.kick <- struct{}{}:
	default:
	}
}

// backoff is exponential from 1 s with full jitter in its upper half,
// capped at MaxBackoff. Callers hold j.mu.
func (j *remoteJWKS) backoff() time.Duration {
	d := time.Second << min(j.failures-1, 20)
	d = min(d, j.settings.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// refreshAt schedules the next refresh at 75–90 % of the lifetime, so a
// fleet of servers does not refresh in lockstep.
func refreshAt(fetched, fresh time.Time) time.Time {
	life := fresh.Sub(fetched)
	return fetched.Add(life*3/4 + rand.N(life*3/20+1))
}

// fetch gets the key set; discovered is the time spent reading discovery
// metadata (0 when its jwks_uri was still fresh).
func (j *remoteJWKS) fetch(ctx context.Context) (_ *jwksState, discovered time.Duration, _ error) {
	st, err := j.fetchFrom(ctx, &discovered)
	return st, discovered, err
}

func (j *remoteJWKS) fetchFrom(ctx context.Context, discovered *time.Duration) (*jwksState, error) {
	u := j.url
	if j.discover != nil {
		var err error
		if u, *discovered, err = j.discover.jwksURL(ctx); err != nil {
			return nil, err
		}
		if parsed, err := url.Parse(u); err == nil {
			ctx = withDialCheck(ctx, &dialCheck{host: parsed.Hostname(), denyInternal: !j.discover.internal.Load()})
		}
	}
	body, header, err := getDocument(ctx, j.client, u, "application/jwk-set+json, application/json")
	if err != nil {
		return nil, err
	}
	set, skipped, err := jose.ParseJWKSet(body, false)
	if err != nil {
		return nil, permanent(err)
	}
	if len(set.Keys) == 0 {
		if len(skipped) == 0 {
			return nil, permanent(errors.New("key set has no signing key"))
		}
		return nil, permanent(fmt.Errorf("key set has no usable signing key (%d skipped: %v)", len(skipped), errors.Join(skipped...)))
	}
	now := j.now()
	st := &jwksState{url: u, set: set, fetchedAt: now, freshTill: now.Add(lifetime(header, now, j.settings))}
	for _, s := range skipped {
		st.skipped = append(st.skipped, s.Error())
	}
	return st, nil
}

// run refreshes in the background until ctx ends: first load with
// backoff, then ahead of expiry, then with backoff while failing.
func (j *remoteJWKS) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			_ = j.fetchNow(ctx)
		case <-j.kick:
		}
		j.mu.Lock()
		next := j.nextRefresh
		j.mu.Unlock()
		wait := next.Sub(j.now())
		if next.IsZero() {
			wait = j.settings.MinRefresh
		}
		timer.Reset(max(wait, 0))
	}
}

func (j *remoteJWKS) issuer() string {
	if j.discover != nil {
		return j.discover.issuer
	}
	return ""
}

// name identifies the source in logs and errors.
func (j *remoteJWKS) name() string {
	if j.discover != nil {
		return j.discover.issuer
	}
	return j.url
}

func (j *remoteJWKS) epoch() uint64 {
	if st := j.state.Load(); st != nil {
		return st.epoch
	}
	return 0
}

// usable reports whether keys are loaded and within their stale window.
func (j *remoteJWKS) usable() bool { return j.usableState() != nil }

func (j *remoteJWKS) usableAt(now time.Time) bool { return j.usableStateAt(j.judgedAt(now)) != nil }

// judgedAt is the time to judge staleness at: now, a time the guard read,
// unless the source is a shared KeySet's, judged by its own clock.
func (j *remoteJWKS) judgedAt(now time.Time) time.Time {
	if j.ownClock {
		return j.now()
	}
	return now
}

func (j *remoteJWKS) status() KeySourceStatus {
	st := j.state.Load()
	j.mu.Lock()
	defer j.mu.Unlock()
	s := KeySourceStatus{
		URL:           j.url,
		Issuer:        j.issuer(),
		NextRefresh:   j.nextRefresh,
		Fetches:       j.fetches.Load(),
		FetchFailures: j.fetchFailures.Load(),
		UnknownKIDs:   j.unknownKIDs.Load(),
		LastErrorAt:   j.lastErrAt,
	}
	if j.lastErr != nil {
		s.LastError = j.lastErr.Error()
	}
	if st != nil {
		now := j.now()
		s.URL = st.url
		s.KeyIDs = st.set.Kids()
		s.LastSuccess = st.fetchedAt
		s.Ready = j.usableState() != nil
		s.Stale = !now.Before(st.freshTill)
		s.SkippedKeys = st.skipped
	}
	return s
}
