package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"github.com/jwtguard/jwtguard/internal/jose"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// keySource supplies the keys of one trust anchor.
type keySource interface {
	// keys returns the current keys, loading them the first time.
	keys(ctx context.Context) (*jose.KeySet, error)
	// refresh is called for an unknown kid; it may fetch, within its rate limits.
	refresh(ctx context.Context, kid string) (*jose.KeySet, error)
	// epoch changes whenever a key is removed or replaced, which
	// invalidates tokens cached as verified by the older keys.
	epoch() uint64
	// usable reports whether keys are loaded and not past their stale window.
	usable() bool
}

type staticKeys struct{ set *jose.KeySet }

func (s staticKeys) keys(context.Context) (*jose.KeySet, error)            { return s.set, nil }
func (s staticKeys) refresh(context.Context, string) (*jose.KeySet, error) { return s.set, nil }
func (s staticKeys) epoch() uint64                                         { return 0 }
func (s staticKeys) usable() bool                                          { return true }

// CacheSettings tune a fetched JWKS. The zero value of a field means its default.
type CacheSettings struct {
	// MinRefresh and MaxRefresh clamp the lifetime the server announces with
	// Cache-Control max-age or Expires. Defaults: 1 minute and 24 hours.
	MinRefresh, MaxRefresh time.Duration
	// DefaultRefresh applies when the server announces no lifetime. Default: 15 minutes.
	DefaultRefresh time.Duration
	// UnknownKIDCooldown is the least time between two fetches caused by
	// tokens with an unknown kid. Default: 30 seconds.
	UnknownKIDCooldown time.Duration
	// StaleFor is how long the last good keys keep serving while refreshes
	// fail. After it, requests get 503. Default: 24 hours.
	StaleFor time.Duration
	// FetchTimeout bounds one fetch, and so how long a request may wait for
	// one. Default: 5 seconds.
	FetchTimeout time.Duration
	// MaxBackoff caps the retry interval after failures. Default: 5 minutes.
	MaxBackoff time.Duration
}

func (c *CacheSettings) fill() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.MinRefresh, time.Minute)
	def(&c.MaxRefresh, 24*time.Hour)
	def(&c.DefaultRefresh, 15*time.Minute)
	def(&c.UnknownKIDCooldown, 30*time.Second)
	def(&c.StaleFor, 24*time.Hour)
	def(&c.FetchTimeout, 5*time.Second)
	def(&c.MaxBackoff, 5*time.Minute)
	if c.MaxRefresh < c.MinRefresh {
		c.MaxRefresh = c.MinRefresh
	}
}

// KeySourceStatus is a snapshot of one fetched key set, for health endpoints.
type KeySourceStatus struct {
	URL           string    `json:"url"`
	Issuer        string    `json:"issuer,omitempty"` // for discovered key sets
	KeyIDs        []string  `json:"kids"`
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

// remoteJWKS is a JWKS fetched over HTTP and kept fresh: background refresh
// ahead of expiry, single-flight fetches, a cooldown for unknown kids, a
// negative cache of unknown kids, and stale-if-error with backoff.
type remoteJWKS struct {
	url      string     // the JWKS URL, or "" when discover finds it
	discover *discovery // OIDC / RFC 8414 discovery, or nil
	client   *http.Client
	settings CacheSettings
	now      func() time.Time
	log      *slog.Logger
	onError  func(url string, err error)

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
	failing     bool // the last fetch failed: logged once per change

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

func newRemoteJWKS(rawURL string, client *http.Client, s CacheSettings, allowHTTP bool, now func() time.Time, log *slog.Logger, onError func(string, error)) (*remoteJWKS, error) {
	if err := checkKeyURL(rawURL, allowHTTP); err != nil {
		return nil, err
	}
	s.fill()
	j := newRemote(client, s, now, log, onError)
	j.url = rawURL
	return j, nil
}

func newRemote(client *http.Client, s CacheSettings, now func() time.Time, log *slog.Logger, onError func(string, error)) *remoteJWKS {
	return &remoteJWKS{
		client:   safeClient(client),
		settings: s,
		now:      now,
		log:      log,
		onError:  onError,
		kick:     make(chan struct{}, 1),
		loaded:   make(chan struct{}),
		negative: make(map[string]time.Time),
	}
}

// checkKeyURL requires https, except for loopback hosts (tests, sidecars)
// or when plain http was allowed with a loudly named option.
func checkKeyURL(raw string, allowHTTP bool) error {
	if raw == "" {
		return errors.New("empty URL (an unset environment variable?)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (allowHTTP || isLoopback(u.Hostname())):
	default:
		return fmt.Errorf("%q must use https (InsecureAllowHTTPKeys allows http)", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// safeClient copies c (or a default client) and limits redirects to the
// origin of the first request, so a key host cannot bounce us elsewhere.
func safeClient(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	if out.Transport == nil {
		out.Transport = http.DefaultTransport
	}
	// The connect-time check of discovered key URLs needs the dialer; a
	// custom RoundTripper keeps its own (the URL checks still apply).
	if t, ok := out.Transport.(*http.Transport); ok && t != nil {
		t = t.Clone()
		dial := t.DialContext
		if dial == nil {
			dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		}
		t.DialContext = checkedDial(dial)
		if t.DialTLSContext != nil {
			t.DialTLSContext = checkedDial(t.DialTLSContext)
		}
		out.Transport = t
	}
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		if origin := via[0].URL; req.URL.Scheme != origin.Scheme || req.URL.Host != origin.Host {
			return fmt.Errorf("redirect to another origin (%s) refused", req.URL.Scheme+"://"+req.URL.Host)
		}
		return nil
	}
	return &out
}

// keys returns the keys to verify with. With keys loaded it never blocks:
// refreshing is the background loop's job. Before the first load it waits
// for one fetch (bounded by FetchTimeout).
func (j *remoteJWKS) keys(ctx context.Context) (*jose.KeySet, error) {
	if st := j.usableState(); st != nil {
		return st.set, nil
	}
	// Never loaded, or past the stale window: try a fetch, within backoff.
	if err := j.fetchShared(ctx, false); err != nil {
		return nil, err
	}
	if st := j.usableState(); st != nil {
		return st.set, nil
	}
	return nil, j.unavailable()
}

// usableState returns the loaded keys unless there are none or they are
// past their stale window.
func (j *remoteJWKS) usableState() *jwksState {
	st := j.state.Load()
	if st == nil || !j.now().Before(st.freshTill.Add(j.settings.StaleFor)) {
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
		if err := j.fetchShared(ctx, true); err != nil && j.currentSet() == nil {
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

// unavailable is the error for a request that finds no usable keys: 503
// with Retry-After while the failure may pass, 500 when the source
// answers wrongly (a permanent failure), with the last error as detail.
func (j *remoteJWKS) unavailable() error {
	j.mu.Lock()
	wait := j.nextAttempt.Sub(j.now())
	last := j.lastErr
	j.mu.Unlock()
	if last == nil {
		return failf(ErrKeysUnavailable, "keys from %s not loaded yet", j.name())
	}
	if isPermanent(last) {
		return failf(ErrKeysMisconfigured, "keys from %s: %v", j.name(), last)
	}
	e := failf(ErrKeysUnavailable, "keys from %s: %v", j.name(), last)
	e.RetryAfter = max(1, int(wait.Round(time.Second)/time.Second))
	return e
}

// permanentError marks a fetch failure that retrying soon will not cure:
// the server answered, but wrongly (4xx, not a key set, wrong issuer).
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// fetchShared joins the fetch in flight or starts one. Request-driven
// fetches (force=false) respect the failure backoff; a waiter gives up when
// its own ctx ends, without cancelling the fetch for the others.
func (j *remoteJWKS) fetchShared(ctx context.Context, force bool) error {
	j.mu.Lock()
	call := j.inflight
	if call == nil {
		now := j.now()
		if !force && now.Before(j.nextAttempt) {
			j.mu.Unlock()
			return j.unavailable()
		}
		call = &fetchCall{done: make(chan struct{})}
		j.inflight = call
		go j.runFetch(call)
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
	ctx, cancel := context.WithTimeout(context.Background(), j.settings.FetchTimeout)
	defer cancel()
	st, err := j.fetch(ctx)
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

// callHook runs a user's callback on a library goroutine: a panic in it is
// logged, not allowed to take the process down.
func callHook(log *slog.Logger, f func()) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("jwtguard: callback panicked", slog.Any("panic", r))
		}
	}()
	f()
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

func (j *remoteJWKS) fetch(ctx context.Context) (*jwksState, error) {
	u := j.url
	if j.discover != nil {
		var err error
		if u, err = j.discover.jwksURL(ctx); err != nil {
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

// fetchError keeps a transport error short and free of query strings.
func fetchError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("timed out")
	}
	return err
}

// getDocument GETs a small JSON document: status 200 only, at most 1 MiB.
func getDocument(ctx context.Context, client *http.Client, u, accept string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fetchError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("HTTP status %d", resp.StatusCode)
		switch code := resp.StatusCode; {
		case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests, code >= 500:
			return nil, nil, err
		}
		return nil, nil, permanent(err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jose.MaxDocumentBytes+1))
	if err != nil {
		return nil, nil, fetchError(err)
	}
	if len(body) > jose.MaxDocumentBytes {
		return nil, nil, permanent(fmt.Errorf("document larger than %d bytes", jose.MaxDocumentBytes))
	}
	return body, resp.Header, nil
}

// lifetime reads Cache-Control max-age (or Expires) and clamps it.
func lifetime(h http.Header, now time.Time, settings CacheSettings) time.Duration {
	d := settings.DefaultRefresh
	found := false
	for _, v := range h.Values("Cache-Control") {
		for _, part := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch strings.ToLower(name) {
			case "max-age":
				if n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64); err == nil && n >= 0 {
					d, found = time.Duration(min(n, 1<<32))*time.Second, true
				}
			case "no-cache", "no-store":
				d, found = 0, true
			}
		}
	}
	if !found {
		if t, err := http.ParseTime(h.Get("Expires")); err == nil {
			d = t.Sub(now)
		}
	}
	return min(max(d, settings.MinRefresh), settings.MaxRefresh)
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
			_ = j.fetchShared(ctx, true)
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
