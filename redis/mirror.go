package jwtguardredis

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
	"github.com/redis/go-redis/v9"
)

// Mirror is a fleet's revocation list: a jwtguard.Revoker that answers
// from a local jwtguard.RevocationList, and an issuer.Revocations whose
// Revoke methods write to Redis, from which every instance's Mirror
// learns them. Pass one Mirror per process to the guards
// (jwtguard.WithRevocations) and to the sessions (issuer.WithRevocations).
//
// The request path never waits on Redis. A background loop keeps the local
// list in step: revocations arrive by pub/sub as they happen; the loop
// also polls Redis for the newest revocation number (every
// [WithPollInterval]) and replays what it missed from a durable log, or
// reloads the whole set (at start, after a long disconnection). Each poll
// answered confirms the mirror current. When no poll has been answered for
// the freshness bound ([WithFreshness], 30 s), Revoked refuses every token
// with jwtguard.ErrRevocationUnavailable (503, Retry-After) until one is:
// fail closed, unless [InsecureFailOpenWhenStale]. A new Mirror is stale
// until its first sync ([Mirror.WaitReady]).
//
// If Redis loses its data (a restart without persistence), its revocation
// set starts empty under a new epoch: every Mirror notices, reloads, and
// writes back the unexpired entries it holds, so the fleet's set heals.
//
// Safe for concurrent use. Close stops the loop.
type Mirror struct {
	rdb        redis.UniversalClient
	keys       keys
	now        func() time.Time
	log        *slog.Logger
	poll       time.Duration
	maxLogLen  int64
	failOpen   bool
	retryAfter int

	list  *jwtguard.RevocationList
	fresh *freshness

	mu        sync.Mutex // guards the sync state below
	epoch     string     // the Redis data set the cursor counts in; "" before the first load
	cursor    uint64     // every revocation numbered up to it is applied
	known     map[string]int64
	pruned    time.Time
	lastErr   string
	fullLoads int

	connected atomic.Bool   // the pub/sub subscription is up
	kick      chan struct{} // asks the sync loop to run now
	ready     chan struct{} // closed at the first confirmation
	readyOnce sync.Once
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

var (
	_ jwtguard.Revoker   = (*Mirror)(nil)
	_ issuer.Revocations = (*Mirror)(nil)
)

// NewMirror starts a Mirror of the revocations in rdb, which the caller
// keeps and closes after the Mirror. It does not wait for Redis (which may
// be down at start): the mirror refuses tokens until it has synced once;
// see [Mirror.WaitReady]. The loop stops when ctx ends or on Close.
func NewMirror(ctx context.Context, rdb redis.UniversalClient, opts ...MirrorOption) (*Mirror, error) {
	c := mirrorConfig{common: defaultCommon(), freshness: 30 * time.Second, maxLogLen: 100_000}
	for _, o := range opts {
		if err := o.applyMirror(&c); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil Redis client", ErrConfig)
	}
	if c.poll == 0 {
		c.poll = c.freshness / 6
	}
	if c.poll > c.freshness/3 {
		return nil, fmt.Errorf("%w: poll interval %s is more than a third of the freshness bound %s", ErrConfig, c.poll, c.freshness)
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &Mirror{
		rdb: rdb, keys: keys{c.prefix}, now: c.now, log: c.log, poll: c.poll, maxLogLen: c.maxLogLen,
		failOpen: c.failOpen, retryAfter: max(1, int((c.poll+time.Second-1)/time.Second)),
		list: jwtguard.NewRevocationList(c.now), fresh: newFreshness(c.freshness),
		known: make(map[string]int64), kick: make(chan struct{}, 1), ready: make(chan struct{}), cancel: cancel,
	}
	m.wg.Add(2)
	go m.subscribe(ctx)
	go m.run(ctx)
	return m, nil
}

// Revoked implements jwtguard.Revoker: from memory, without waiting on
// anything. It returns an error matching jwtguard.ErrRevocationUnavailable
// (503, Retry-After) while the mirror is stale, unless it fails open.
func (m *Mirror) Revoked(c *jwtguard.Claims) error {
	if m.fresh.stale.Load() && !m.failOpen {
		return m.staleError()
	}
	return m.list.Revoked(c)
}

func (m *Mirror) staleError() error {
	detail := "revocation mirror never synced with Redis"
	if last := m.fresh.last(); !last.IsZero() {
		detail = fmt.Sprintf("revocation mirror not confirmed current with Redis for %s (bound %s)",
			time.Since(last).Round(time.Millisecond), m.fresh.bound)
	}
	return &jwtguard.Error{Status: http.StatusServiceUnavailable, Description: "revocation state temporarily unavailable",
		RetryAfter: m.retryAfter, Err: jwtguard.ErrRevocationUnavailable, Detail: detail}
}

// RevokeToken revokes the token of issuer iss with this jti, on every
// instance, until until (its exp plus your leeway). The entry applies here
// at once, even when writing it to Redis fails (the error says so).
func (m *Mirror) RevokeToken(ctx context.Context, iss, jti string, until time.Time) error {
	return m.revoke(ctx, entry{kind: 't', iss: iss, id: jti}, until)
}

// RevokeSession revokes every token of issuer iss whose sid is sid, on
// every instance, until until. It implements issuer.Revocations.
func (m *Mirror) RevokeSession(ctx context.Context, iss, sid string, until time.Time) error {
	return m.revoke(ctx, entry{kind: 's', iss: iss, id: sid}, until)
}

// RevokeSubject revokes every token of issuer iss for subject sub issued
// before issuedBefore (sign out everywhere), on every instance, until
// until (issuedBefore plus the longest token lifetime; with sessions, use
// issuer.Sessions.RevokeSubject, which covers their refresh too). It
// implements issuer.Revocations.
func (m *Mirror) RevokeSubject(ctx context.Context, iss, sub string, issuedBefore, until time.Time) error {
	return m.revoke(ctx, entry{kind: 'u', iss: iss, id: sub, issuedBefore: issuedBefore.UnixMilli()}, until)
}

// revocationScript records a revocation: in the set (kept at the later
// until), and, when that changed anything, numbered in the log and
// published. It also drops expired entries and creates the epoch.
// KEYS: set, log, seq, epoch. ARGV: member, until (ms), now (ms), log
// length, channel, epoch candidate. Returns {epoch, seq}; seq is "0" when
// nothing changed.
var revocationScript = redis.NewScript(`
local epoch = redis.call('GET', KEYS[4])
if not epoch then
	epoch = ARGV[6]
	redis.call('SET', KEYS[4], epoch)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if old and tonumber(old) >= tonumber(ARGV[2]) then
	return {epoch, '0'}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], seq .. '-0', 'm', ARGV[1], 'u', ARGV[2])
redis.call('PUBLISH', ARGV[5], epoch .. ' ' .. seq .. ' ' .. ARGV[2] .. ' ' .. ARGV[1])
return {epoch, tostring(seq)}
`)

// stateScript returns the epoch (creating it) and the newest revocation
// number. KEYS: epoch, seq. ARGV: epoch candidate.
var stateScript = redis.NewScript(`
local epoch = redis.call('GET', KEYS[1])
if not epoch then
	epoch = ARGV[1]
	redis.call('SET', KEYS[1], epoch)
end
return {epoch, redis.call('GET', KEYS[2]) or '0'}
`)

func (m *Mirror) revocationKeys() []string {
	return []string{m.keys.revocations("set"), m.keys.revocations("log"), m.keys.revocations("seq"), m.keys.revocations("epoch")}
}

func newEpoch() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (m *Mirror) revoke(ctx context.Context, e entry, until time.Time) error {
	u, member := until.UnixMilli(), e.member()
	m.mu.Lock()
	m.applyLocked(e, member, u)
	m.mu.Unlock()
	if err := m.write(ctx, member, u); err != nil {
		return fmt.Errorf("jwtguardredis: revocation applied on this instance only: %w", err)
	}
	return nil
}

// write records a revocation in Redis and, when it is the next one this
// mirror expects, moves the cursor past it.
func (m *Mirror) write(ctx context.Context, member string, until int64) error {
	res, err := revocationScript.Run(ctx, m.rdb, m.revocationKeys(), member, until, m.now().UnixMilli(),
		m.maxLogLen, m.keys.channel(), newEpoch()).StringSlice()
	if err != nil {
		return err
	}
	if len(res) != 2 {
		return errors.New("malformed reply")
	}
	if seq, err := strconv.ParseUint(res[1], 10, 64); err == nil && seq > 0 {
		m.mu.Lock()
		if res[0] == m.epoch && seq == m.cursor+1 {
			m.cursor = seq
		}
		m.mu.Unlock()
	}
	return nil
}

// applyLocked records an entry locally, in the list and in known (what to
// write back if Redis loses its data).
func (m *Mirror) applyLocked(e entry, member string, until int64) {
	if until <= m.now().UnixMilli() {
		return
	}
	e.apply(m.list, until)
	if until > m.known[member] {
		m.known[member] = until
	}
}

// deliverLocked applies revocation seq of epoch if it is the next one; it
// reports false when the mirror must sync first (another epoch, or a gap).
func (m *Mirror) deliverLocked(epoch string, seq uint64, until int64, member string) bool {
	if epoch != m.epoch || seq > m.cursor+1 {
		return false
	}
	if seq <= m.cursor {
		return true // had it
	}
	if e, err := parseMember(member); err == nil {
		m.applyLocked(e, member, until)
	} else {
		m.log.LogAttrs(context.Background(), slog.LevelWarn, "jwtguardredis: malformed revocation entry skipped", slog.Uint64("seq", seq))
	}
	m.cursor = seq
	return true
}

// subscribe receives published revocations until ctx ends. go-redis
// reconnects and resubscribes by itself; each (re)subscription asks for a
// sync, to replay what was published while it was away.
func (m *Mirror) subscribe(ctx context.Context) {
	defer m.wg.Done()
	ps := m.rdb.Subscribe(ctx, m.keys.channel())
	// Receive may block on the socket whatever ctx says: closing the
	// subscription ends it.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		_ = ps.Close()
	}()
	backoff := 50 * time.Millisecond
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if m.connected.Swap(false) {
				m.log.LogAttrs(ctx, slog.LevelWarn, "jwtguardredis: revocation subscription lost", slog.String("error", err.Error()))
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch msg := msg.(type) {
		case *redis.Subscription:
			if msg.Kind == "subscribe" {
				m.connected.Store(true)
				m.kickSync()
			}
		case *redis.Message:
			mm, ok := parseMessage(msg.Payload)
			if !ok {
				continue
			}
			m.mu.Lock()
			ok = m.deliverLocked(mm.epoch, mm.seq, mm.until, mm.member)
			m.mu.Unlock()
			if !ok {
				m.kickSync()
			}
		}
	}
}

func (m *Mirror) kickSync() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// run syncs at once, then every poll interval and whenever kicked.
func (m *Mirror) run(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTicker(m.poll)
	defer t.Stop()
	for {
		sctx, cancel := context.WithTimeout(ctx, max(m.poll, 2*time.Second))
		err := m.sync(sctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		m.mu.Lock()
		switch {
		case err != nil && m.lastErr == "":
			m.log.LogAttrs(ctx, slog.LevelWarn, "jwtguardredis: revocation sync failed", slog.String("error", err.Error()))
		case err == nil && m.lastErr != "":
			m.log.LogAttrs(ctx, slog.LevelInfo, "jwtguardredis: revocation sync recovered")
		}
		m.lastErr = ""
		if err != nil {
			m.lastErr = err.Error()
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.kick:
		}
	}
}

// sync brings the mirror up to Redis's newest revocation and, if nothing
// failed, confirms it current as of when it asked.
func (m *Mirror) sync(ctx context.Context) error {
	asked := time.Now()
	st, err := stateScript.Run(ctx, m.rdb, []string{m.keys.revocations("epoch"), m.keys.revocations("seq")}, newEpoch()).StringSlice()
	if err != nil {
		return err
	}
	if len(st) != 2 {
		return errors.New("malformed state reply")
	}
	epoch := st[0]
	seq, err := strconv.ParseUint(st[1], 10, 64)
	if err != nil {
		return err
	}
	m.mu.Lock()
	mine, cursor := m.epoch, m.cursor
	m.mu.Unlock()
	switch {
	case epoch != mine || seq < cursor:
		// First sync, or Redis lost data: reload, then write back what
		// this mirror knows and Redis no longer does.
		if err := m.load(ctx, epoch, seq, true); err != nil {
			return err
		}
		if mine != "" {
			m.log.LogAttrs(ctx, slog.LevelWarn, "jwtguardredis: Redis lost revocations; writing back the ones this instance holds",
				slog.String("epoch", epoch))
			if err := m.reassert(ctx); err != nil {
				return err
			}
		}
	case seq > cursor:
		if err := m.catchUp(ctx, epoch, seq); err != nil {
			return err
		}
	}
	m.prune()
	m.fresh.confirm(asked)
	m.readyOnce.Do(func() { close(m.ready) })
	return nil
}

// load applies a full read of the set: every revocation numbered up to seq
// (read before) is in it, unless expired. It moves the cursor to seq: only
// forward, or also back when reset (Redis lost data and numbers again from
// seq).
func (m *Mirror) load(ctx context.Context, epoch string, seq uint64, reset bool) error {
	now := m.now().UnixMilli()
	zs, err := m.rdb.ZRangeByScoreWithScores(ctx, m.keys.revocations("set"),
		&redis.ZRangeBy{Min: "(" + strconv.FormatInt(now, 10), Max: "+inf"}).Result()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, z := range zs {
		member, ok := z.Member.(string)
		if !ok {
			continue
		}
		if e, err := parseMember(member); err == nil {
			m.applyLocked(e, member, int64(z.Score))
		}
	}
	if reset || epoch != m.epoch || seq > m.cursor {
		m.epoch, m.cursor = epoch, seq
	}
	m.fullLoads++
	return nil
}

// catchUp replays the log from the cursor to seq; if the log no longer
// reaches back to the cursor (trimmed), it reloads the set.
func (m *Mirror) catchUp(ctx context.Context, epoch string, seq uint64) error {
	for {
		m.mu.Lock()
		cursor := m.cursor
		m.mu.Unlock()
		if cursor >= seq {
			return nil
		}
		msgs, err := m.rdb.XRangeN(ctx, m.keys.revocations("log"), strconv.FormatUint(cursor+1, 10)+"-0", "+", 1000).Result()
		if err != nil {
			return err
		}
		if len(msgs) == 0 || logSeq(msgs[0].ID) != cursor+1 {
			return m.load(ctx, epoch, seq, false)
		}
		m.mu.Lock()
		for _, x := range msgs {
			member, _ := x.Values["m"].(string)
			until, _ := strconv.ParseInt(fmt.Sprint(x.Values["u"]), 10, 64)
			if !m.deliverLocked(epoch, logSeq(x.ID), until, member) {
				break
			}
		}
		progressed := m.cursor > cursor
		m.mu.Unlock()
		if !progressed {
			return m.load(ctx, epoch, seq, false)
		}
	}
}

// logSeq is the revocation number of a log entry's id "<seq>-0".
func logSeq(id string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimSuffix(id, "-0"), 10, 64)
	return n
}

// reassert writes the unexpired entries this mirror holds back to Redis.
// Entries Redis already has at the same or a later until change nothing
// and publish nothing, so many instances doing it at once is harmless.
func (m *Mirror) reassert(ctx context.Context) error {
	now := m.now().UnixMilli()
	m.mu.Lock()
	entries := make(map[string]int64, len(m.known))
	for member, until := range m.known {
		if until > now {
			entries[member] = until
		}
	}
	m.mu.Unlock()
	for member, until := range entries {
		if err := m.write(ctx, member, until); err != nil {
			return err
		}
	}
	return nil
}

// prune forgets expired entries of known, at most once a minute.
func (m *Mirror) prune() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if time.Since(m.pruned) < time.Minute {
		return
	}
	m.pruned = time.Now()
	now := m.now().UnixMilli()
	for member, until := range m.known {
		if until <= now {
			delete(m.known, member)
		}
	}
}

// WaitReady waits until the mirror has synced with Redis once, or ctx ends.
func (m *Mirror) WaitReady(ctx context.Context) error {
	select {
	case <-m.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("jwtguardredis: mirror not synced with Redis: %w", context.Cause(ctx))
	}
}

// Close stops the background loop and waits for it. From then on the
// mirror is no longer confirmed current, and refuses tokens once the
// freshness bound has passed. Closing twice is harmless.
func (m *Mirror) Close() error {
	m.cancel()
	m.wg.Wait()
	m.fresh.stop()
	return nil
}

// MirrorStatus is a snapshot of a Mirror, for health endpoints and metrics.
type MirrorStatus struct {
	Fresh     bool          // confirmed current within the bound; when false, Revoked refuses (unless InsecureFailOpenWhenStale)
	Connected bool          // the pub/sub subscription is up
	LastSync  time.Time     // when the newest confirming poll was sent; zero: never
	Lag       time.Duration // since LastSync; 0 before the first sync
	Bound     time.Duration // the freshness bound
	Epoch     string        // Redis's revocation data set; changes when Redis loses it
	Seq       uint64        // the newest revocation applied here
	Entries   int           // entries in the local list, expired ones not yet swept included
	FullLoads int           // reloads of the whole set: the first sync, and each recovery from a gap or data loss
	LastError string        // the last sync's error; "" when it succeeded
}

// Status reports the mirror's state.
func (m *Mirror) Status() MirrorStatus {
	s := MirrorStatus{Fresh: !m.fresh.stale.Load(), Connected: m.connected.Load(), LastSync: m.fresh.last(),
		Bound: m.fresh.bound, Entries: m.list.Len()}
	if !s.LastSync.IsZero() {
		s.Lag = time.Since(s.LastSync)
	}
	m.mu.Lock()
	s.Epoch, s.Seq, s.FullLoads, s.LastError = m.epoch, m.cursor, m.fullLoads, m.lastErr
	m.mu.Unlock()
	return s
}
