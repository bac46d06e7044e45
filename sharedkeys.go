package jwtguard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// A KeySet is a JWK Set fetched over HTTP that several guards (or several
// trust anchors) share: one cache, one background refresh, one fetch per
// unknown kid, the same stale-if-error rules. Guards on one JWKS URL
// otherwise each keep their own. Build it with [NewKeySet], give it to
// guards with [WithKeySet], and close it when the last guard is done.
type KeySet struct {
	src        *remoteJWKS
	stop       context.CancelFunc
	background goroutines
}

// A KeySetOption configures a [KeySet]. WithHTTPClient,
// InsecureAllowHTTPKeys, WithKeySetSettings, WithKeyFetchErrorHook,
// WithLogger and WithClock are KeySetOptions as well as guard Options.
type KeySetOption interface {
	applyKeySet(*keySetConfig) error
}

// keySetConfig is what a shared KeySet takes, and the fetching part of a
// guard's configuration.
type keySetConfig struct {
	httpClient    *http.Client
	allowHTTPKeys bool
	cache         KeySetSettings
	onError       func(url string, err error)
	logger        *slog.Logger // nil: silent refusals; key trouble to slog.Default
	clock         func() time.Time
	observer      *Observer // WithObserver
}

// NewKeySet starts fetching the JWK Set at url in the background, until
// ctx ends or Close is called. It never waits; see [KeySet.WaitReady].
func NewKeySet(ctx context.Context, url string, opts ...KeySetOption) (*KeySet, error) {
	kc := keySetConfig{clock: time.Now}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyKeySet(&kc); err != nil {
			return nil, configError(err)
		}
	}
	s := kc.cache
	s.fill()
	log := kc.logger
	if log == nil {
		log = slog.Default()
	}
	src, err := newKeySource(url, "", nil, fetchConfig{client: safeClient(kc.httpClient), settings: s, obs: kc.observer,
		allowHTTP: kc.allowHTTPKeys, now: kc.clock, log: log, onError: kc.onError})
	if err != nil {
		return nil, configError(err)
	}
	src.ownClock = true // guards sharing it judge its staleness by its clock, not theirs
	k := &KeySet{src: src}
	ctx, k.stop = context.WithCancel(ctx)
	src.start(ctx, &k.background)
	return k, nil
}

// WithKeySet verifies tokens with the keys of a shared [KeySet].
func WithKeySet(k *KeySet) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		if k == nil {
			return errors.New("WithKeySet: nil KeySet")
		}
		c.keySet = k
		return nil
	})
}

// WaitReady blocks until the set has loaded once, or ctx ends.
func (k *KeySet) WaitReady(ctx context.Context) error {
	select {
	case <-k.src.loaded:
		return nil
	case <-ctx.Done():
		return keysError(k.src.unavailable())
	}
}

// Status reports the state of the set, as [Guard.Status] does for its own.
func (k *KeySet) Status() KeySourceStatus { return k.src.status() }

// Close stops the background refresh and waits for it to end.
func (k *KeySet) Close() {
	k.stop()
	k.background.close()
}
