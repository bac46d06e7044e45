package jwtguardredis

import (
	"errors"
	"log/slog"
	"strings"
	"time"
)

// A StoreOption configures [NewStore].
type StoreOption interface{ applyStore(*storeConfig) error }

// A MirrorOption configures [NewMirror].
type MirrorOption interface{ applyMirror(*mirrorConfig) error }

// A ReplayStoreOption configures [NewReplayStore].
type ReplayStoreOption interface{ applyReplay(*replayConfig) error }

// An Option configures [NewStore], [NewMirror] and [NewReplayStore].
// Given twice, the last one wins.
type Option interface {
	StoreOption
	MirrorOption
	ReplayStoreOption
}

// common is what both take.
type common struct {
	prefix string
	now    func() time.Time
	log    *slog.Logger
}

type storeConfig struct{ common }

type mirrorConfig struct {
	common
	freshness   time.Duration
	poll        time.Duration
	failOpen    bool
	maxLogLen   int64
	retryAfter  int
	pollTimeout time.Duration
}

func defaultCommon() common {
	return common{prefix: "jwtguard:", now: time.Now, log: slog.New(slog.DiscardHandler)}
}

type commonOption func(*common) error

func (o commonOption) applyStore(c *storeConfig) error   { return o(&c.common) }
func (o commonOption) applyMirror(c *mirrorConfig) error { return o(&c.common) }
func (o commonOption) applyReplay(c *replayConfig) error { return o(&c.common) }

type mirrorOption func(*mirrorConfig) error

func (o mirrorOption) applyMirror(c *mirrorConfig) error { return o(c) }

// WithKeyPrefix starts every Redis key (and the pub/sub channel) with
// prefix, to share a Redis between applications or environments. It may
// not contain '{' or '}': the keys carry Cluster hash tags of their own.
// Default: "jwtguard:".
func WithKeyPrefix(prefix string) Option {
	return commonOption(func(c *common) error {
		if strings.ContainsAny(prefix, "{}") {
			return errors.New("key prefix: '{' and '}' would change the keys' Cluster hash tags")
		}
		c.prefix = prefix
		return nil
	})
}

// WithClock sets the time source for expiries: of refresh tokens (the
// Store's key TTLs), of revocation entries (the Mirror's) and of the
// ReplayStore's test for an expiry already past. The Mirror's freshness
// bound runs on the monotonic clock whatever this says. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return commonOption(func(c *common) error {
		if now == nil {
			return errors.New("nil clock")
		}
		c.now = now
		return nil
	})
}

// WithLogger logs Redis failures at Warn and recoveries at Info (the
// ReplayStore: the first failure after a success, and the first success
// after a failure, not every failed request). Default: silent.
func WithLogger(l *slog.Logger) Option {
	return commonOption(func(c *common) error {
		if l == nil {
			return errors.New("nil logger")
		}
		c.log = l
		return nil
	})
}

// WithFreshness is how long the mirror may go without confirming that it
// holds every revocation in Redis before [Mirror.Revoked] refuses every
// token with jwtguard.ErrRevocationUnavailable (503, Retry-After): the
// longest a revocation can go unnoticed on an instance cut off from Redis.
// Between 1 second and 10 minutes. Default: 30 seconds.
func WithFreshness(d time.Duration) MirrorOption {
	return mirrorOption(func(c *mirrorConfig) error {
		if d < time.Second || d > 10*time.Minute {
			return errors.New("freshness bound must be between 1 second and 10 minutes")
		}
		c.freshness = d
		return nil
	})
}

// WithPollInterval is how often the mirror asks Redis for the newest
// revocation number, confirming it is current (pub/sub pushes revocations
// as they happen; the poll bounds what a lost message can delay, and
// confirms freshness). At most a third of the freshness bound. Default: a
// sixth of the freshness bound (5 s).
func WithPollInterval(d time.Duration) MirrorOption {
	return mirrorOption(func(c *mirrorConfig) error {
		if d < 10*time.Millisecond {
			return errors.New("poll interval must be at least 10ms")
		}
		c.poll = d
		return nil
	})
}

// WithLogLength bounds the durable log of revocations (a Redis stream) to
// about n entries. A mirror that falls further behind (disconnected for
// long) reloads the whole set instead of replaying the log. Default:
// 100000.
func WithLogLength(n int64) MirrorOption {
	return mirrorOption(func(c *mirrorConfig) error {
		if n < 100 {
			return errors.New("log length must be at least 100")
		}
		c.maxLogLen = n
		return nil
	})
}

// InsecureFailOpenWhenStale makes [Mirror.Revoked] answer from whatever the
// mirror holds when it cannot confirm it is current, instead of refusing
// with 503: while Redis is unreachable, tokens revoked meanwhile elsewhere
// in the fleet are accepted here. Default: fail closed.
func InsecureFailOpenWhenStale() MirrorOption {
	return mirrorOption(func(c *mirrorConfig) error { c.failOpen = true; return nil })
}

type replayConfig struct {
	common
	timeout time.Duration
	skew    time.Duration
}

type replayOption func(*replayConfig) error

func (o replayOption) applyReplay(c *replayConfig) error { return o(c) }

// WithTimeout bounds each [ReplayStore.Use]: a Redis that does not answer
// within d (or before the request's own deadline, if sooner) is an error,
// so the guard refuses with 503 rather than wait. It holds whatever the
// client's own settings (see [NewReplayStore]). Between 1 millisecond and
// 30 seconds. Default: 500 milliseconds.
func WithTimeout(d time.Duration) ReplayStoreOption {
	return replayOption(func(c *replayConfig) error {
		if d < time.Millisecond || d > 30*time.Second {
			return errors.New("replay timeout must be between 1ms and 30s")
		}
		c.timeout = d
		return nil
	})
}

// WithClockSkew is how far the instances' clocks and Redis's may differ:
// the ReplayStore keeps each proof that much past its expiry, because
// Redis drops the key by its own clock while each instance accepts the
// proof by its own. Between 0 and 1 minute. Default: 5 seconds (the
// guard's default allowance for a proof from the future).
func WithClockSkew(d time.Duration) ReplayStoreOption {
	return replayOption(func(c *replayConfig) error {
		if d < 0 || d > time.Minute {
			return errors.New("clock skew must be between 0 and 1 minute")
		}
		c.skew = d
		return nil
	})
}
