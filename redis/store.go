package jwtguardredis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jwtguard/jwtguard/issuer"
	"github.com/redis/go-redis/v9"
)

// ErrConfig wraps every configuration error of [NewStore], [NewMirror] and
// [NewReplayStore].
var ErrConfig = errors.New("jwtguardredis: invalid configuration")

// Store is an issuer.Store on Redis, for [issuer.Sessions] shared by a
// fleet: every decision about a refresh token (first use, reuse, the
// family's newest generation, revocation) is one Lua script on the
// family's Cluster slot, so two instances racing on one token see exactly
// one first use, and a reuse detected on any instance revokes the family
// for all. Tokens are kept as SHA-256 hashes only (of the token and the
// browser's binding). Keys expire: an unused token at its idle expiry, a
// spent one (kept to detect its replay) at the family's absolute expiry,
// and the family (with its revocation) 11 minutes later, when the last of
// its access tokens is refused by every guard anyway. Safe for concurrent
// use.
//
// When Redis cannot answer, every method returns its error and Sessions
// answers 503 (fail closed).
type Store struct {
	rdb  redis.UniversalClient
	keys keys
	now  func() time.Time
}

// NewStore returns a Store on rdb, which the caller keeps and closes.
func NewStore(rdb redis.UniversalClient, opts ...StoreOption) (*Store, error) {
	c := storeConfig{common: defaultCommon()}
	for _, o := range opts {
		if err := o.applyStore(&c); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil Redis client", ErrConfig)
	}
	return &Store{rdb: rdb, keys: keys{c.prefix}, now: c.now}, nil
}

var _ issuer.Store = (*Store)(nil)

// createScript saves an unused token and raises its family's head.
// KEYS: token, family. ARGV: sub, claims, gen, idle (ns), fexp (ns), token
// TTL (ms), family TTL (ms).
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
	return redis.error_reply('duplicate refresh token')
end
redis.call('HSET', KEYS[1], 'sub', ARGV[1], 'claims', ARGV[2], 'gen', ARGV[3], 'idle', ARGV[4], 'fexp', ARGV[5], 'used', '0', 'reuses', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[6])
local head = tonumber(redis.call('HGET', KEYS[2], 'head') or '-1')
if tonumber(ARGV[3]) > head then
	redis.call('HSET', KEYS[2], 'head', ARGV[3])
end
redis.call('HSETNX', KEYS[2], 'revoked', '0')
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[7]) then
	redis.call('PEXPIRE', KEYS[2], ARGV[7])
end
return 1
`)

// useScript returns a token's record as it was and records the use: the
// first use of a token of the family's newest generation sets used and
// raises the family's head (and keeps the spent token until the family's
// end, to detect its replay), later ones count reuses. A stale token (older
// than the head) never used stays unused, so that each of its uses is
// taken for the theft it is (issuer.Store). A token whose family is gone
// reads as revoked. KEYS: token, family. ARGV: now (ns).
var useScript = redis.NewScript(`
local t = redis.call('HMGET', KEYS[1], 'sub', 'claims', 'gen', 'idle', 'fexp', 'used', 'reuses')
if not t[1] then
	return false
end
local f = redis.call('HMGET', KEYS[2], 'head', 'revoked')
local gen = tonumber(t[3])
local head, revoked = gen, '1'
if f[1] then
	head, revoked = tonumber(f[1]), f[2] or '0'
end
if t[6] ~= '0' then
	redis.call('HINCRBY', KEYS[1], 'reuses', 1)
elseif gen >= head then
	redis.call('HSET', KEYS[1], 'used', ARGV[1])
	if f[1] and gen + 1 > head then
		redis.call('HSET', KEYS[2], 'head', tostring(gen + 1))
	end
	local keep = math.floor((tonumber(t[5]) - tonumber(ARGV[1])) / 1000000)
	if keep > 0 then
		redis.call('PEXPIRE', KEYS[1], keep)
	end
end
return {t[1], t[2], t[3], t[4], t[5], t[6], t[7], tostring(head), revoked}
`)

// revokeScript marks a family revoked; a family Redis no longer knows is
// kept revoked for ARGV[1] ms. KEYS: family.
var revokeScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 'revoked', '1')
if redis.call('PTTL', KEYS[1]) < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
`)

// unknownFamilyTTL is how long a revoked family Redis did not know is kept.
const unknownFamilyTTL = 24 * time.Hour

// familyRetention is how long a family (and its revocation) is kept past
// its absolute expiry: its access tokens expire by then, and a guard
// accepts them for at most 10 minutes (its leeway) longer; a minute more
// for clock skew. See issuer.Store.
const familyRetention = 11 * time.Minute

// Create implements issuer.Store.
func (s *Store) Create(ctx context.Context, rec issuer.RefreshRecord) error {
	claims, err := json.Marshal(rec.Claims)
	if err != nil {
		return err
	}
	now := s.now()
	tokenTTL := ttl(rec.FamilyExpiry, now)
	familyTTL := ttl(rec.FamilyExpiry.Add(familyRetention), now)
	err = createScript.Run(ctx, s.rdb, []string{s.keys.token(rec.Family, rec.Hash), s.keys.family(rec.Family)},
		rec.Subject, claims, rec.Generation, rec.IdleExpiry.UnixNano(), rec.FamilyExpiry.UnixNano(),
		ttl(rec.IdleExpiry, now).Milliseconds(), familyTTL.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("jwtguardredis: create refresh token: %w", err)
	}
	// The pointer from the hash to the family lives as long as a spent
	// token may; written second, so it never points at nothing for long.
	if err := s.rdb.Set(ctx, s.keys.refresh(rec.Hash), rec.Family, tokenTTL).Err(); err != nil {
		return fmt.Errorf("jwtguardredis: create refresh token: %w", err)
	}
	return nil
}

// ttl is the time from now to at, at least a millisecond (Redis refuses 0).
func ttl(at, now time.Time) time.Duration { return max(at.Sub(now), time.Millisecond) }

// Use implements issuer.Store.
func (s *Store) Use(ctx context.Context, hash [32]byte, now time.Time) (issuer.RefreshRecord, error) {
	family, err := s.rdb.Get(ctx, s.keys.refresh(hash)).Result()
	if errors.Is(err, redis.Nil) {
		return issuer.RefreshRecord{}, issuer.ErrNotFound
	}
	if err != nil {
		return issuer.RefreshRecord{}, fmt.Errorf("jwtguardredis: use refresh token: %w", err)
	}
	res, err := useScript.Run(ctx, s.rdb, []string{s.keys.token(family, hash), s.keys.family(family)},
		now.UnixNano()).StringSlice()
	if errors.Is(err, redis.Nil) {
		return issuer.RefreshRecord{}, issuer.ErrNotFound
	}
	if err != nil {
		return issuer.RefreshRecord{}, fmt.Errorf("jwtguardredis: use refresh token: %w", err)
	}
	rec, err := decodeRecord(hash, family, res)
	if err != nil {
		return issuer.RefreshRecord{}, fmt.Errorf("jwtguardredis: use refresh token: %w", err)
	}
	return rec, nil
}

// decodeRecord reads the reply of useScript.
func decodeRecord(hash [32]byte, family string, r []string) (issuer.RefreshRecord, error) {
	if len(r) != 9 {
		return issuer.RefreshRecord{}, fmt.Errorf("malformed record: %d fields", len(r))
	}
	var n [7]int64
	for i, s := range []string{r[2], r[3], r[4], r[5], r[6], r[7]} {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return issuer.RefreshRecord{}, fmt.Errorf("malformed record: %v", err)
		}
		n[i] = v
	}
	rec := issuer.RefreshRecord{Hash: hash, Family: family, Subject: r[0], Generation: uint64(n[0]),
		IdleExpiry: time.Unix(0, n[1]), FamilyExpiry: time.Unix(0, n[2]), Reuses: int(n[4]),
		FamilyHead: uint64(n[5]), FamilyRevoked: r[8] == "1"}
	if n[3] != 0 {
		rec.UsedAt = time.Unix(0, n[3])
	}
	if r[1] != "null" {
		if err := json.Unmarshal([]byte(r[1]), &rec.Claims); err != nil {
			return issuer.RefreshRecord{}, fmt.Errorf("malformed claims: %v", err)
		}
	}
	return rec, nil
}

// RevokeFamily implements issuer.Store.
func (s *Store) RevokeFamily(ctx context.Context, family string) error {
	if err := revokeScript.Run(ctx, s.rdb, []string{s.keys.family(family)}, unknownFamilyTTL.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("jwtguardredis: revoke family: %w", err)
	}
	return nil
}

// FamilyRevoked implements issuer.Store.
func (s *Store) FamilyRevoked(ctx context.Context, family string) (bool, error) {
	v, err := s.rdb.HGet(ctx, s.keys.family(family), "revoked").Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("jwtguardredis: family revoked: %w", err)
	}
	return v == "1", nil
}
