package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jwtguard/jwtguard"
)

// Revocations is where [Sessions] records what it revokes, and what the
// guard asks about every token it accepts: pass [Sessions.Revoker] to
// jwtguard.WithRevocations. Sessions records a session (iss + sid, the
// refresh-token family) on logout, on refresh-token reuse and when a login
// ends the browser's previous session, and a subject's watermark on
// [Sessions.RevokeSubject]; it asks Revoked again on every refresh, so a
// revoked session or subject cannot be refreshed either.
//
// The default, [LocalRevocations], is one process's memory. A fleet passes
// a shared implementation ([WithRevocations]); the Redis module's Mirror is
// one. Revoked must answer from memory (see [jwtguard.Revoker]); the
// Revoke methods may write to a network and return its error, which
// Sessions answers with 503. Implementations must be safe for concurrent
// use.
type Revocations interface {
	jwtguard.Revoker
	// RevokeSession revokes the tokens of issuer iss whose sid is sid until
	// until.
	RevokeSession(ctx context.Context, iss, sid string, until time.Time) error
	// RevokeSubject revokes the tokens of issuer iss for subject sub issued
	// before issuedBefore, until until.
	RevokeSubject(ctx context.Context, iss, sub string, issuedBefore, until time.Time) error
}

// LocalRevocations records revocations in l, one process's memory: the
// single-instance default of [Sessions]. Pass l to other guards too, or
// revoke single tokens in it by jti (l.RevokeToken).
func LocalRevocations(l *jwtguard.RevocationList) Revocations { return localRevocations{l} }

type localRevocations struct{ list *jwtguard.RevocationList }

func (r localRevocations) Revoked(c *jwtguard.Claims) error { return r.list.Revoked(c) }

func (r localRevocations) RevokeSession(_ context.Context, iss, sid string, until time.Time) error {
	r.list.RevokeSession(iss, sid, until)
	return nil
}

func (r localRevocations) RevokeSubject(_ context.Context, iss, sub string, issuedBefore, until time.Time) error {
	r.list.RevokeSubject(iss, sub, issuedBefore, until)
	return nil
}

// WithRevocations records revoked sessions and subjects in r instead of
// this process's memory: a fleet's instances share r (the Redis module's
// Mirror), so a logout on one is refused on all. Give the same r to the
// guards, through [Sessions.Revoker] or directly. Default:
// LocalRevocations(jwtguard.NewRevocationList(clock)), with the issuer's
// clock.
func WithRevocations(r Revocations) SessionOption {
	return func(x *Sessions) error {
		if r == nil {
			return errNilRevocations
		}
		x.revocations = r
		return nil
	}
}

// revocationLeeway is how long a revocation outlives the last expiry of
// the tokens it covers: a guard accepts a token up to its leeway past exp
// (jwtguard.WithLeeway, at most 10 minutes), plus a minute for clock skew
// between the instance that revokes and the one that issues or checks a
// token, and for a refresh in flight when its session is revoked elsewhere.
const revocationLeeway = 10*time.Minute + time.Minute

// Revoker is what the guards consult, on every request they accept, to
// refuse the access tokens of sessions and subjects revoked here (or, with
// a shared [Revocations], anywhere in the fleet): pass it to
// jwtguard.WithRevocations. It answers from memory.
func (s *Sessions) Revoker() jwtguard.Revoker { return s.revocations }

// RevokeSubject signs subject out everywhere: every access token issued to
// it until now is refused, and so is every refresh of a session that
// started before now, whichever instance it reaches. Sessions started
// afterwards are not affected. Use it on a password change or a
// compromised account.
func (s *Sessions) RevokeSubject(ctx context.Context, subject string) error {
	now := s.now()
	// A session started just before now may refresh until its absolute
	// expiry; its last access token lives a token lifetime longer.
	return s.revocations.RevokeSubject(ctx, s.iss.url, subject, now, now.Add(s.absolute+s.iss.ttl+revocationLeeway))
}

// revokeSession records the end of a family's session. The store refuses
// its refresh tokens from now on, so its newest access token expires within
// a token lifetime: the entry need not live longer than that and the
// guards' leeway.
func (s *Sessions) revokeSession(ctx context.Context, family string) error {
	return s.revocations.RevokeSession(ctx, s.iss.url, family, s.now().Add(s.iss.ttl+revocationLeeway))
}

// familyRevoked asks the revocations whether a refresh of rec may go on: its
// session revoked, or its subject signed out everywhere after the session
// started. An error that is not jwtguard.ErrRevoked means the revocations
// cannot tell (a fleet's mirror out of date).
func (s *Sessions) familyRevoked(rec RefreshRecord) error {
	started := rec.FamilyExpiry.Add(-s.absolute)
	c, err := jwtguard.ClaimsFromJSON(familyClaims(s.iss.url, rec.Subject, rec.Family, started))
	if err != nil {
		return err
	}
	return s.revocations.Revoked(c)
}

var errNilRevocations = errors.New("nil Revocations")

// familyClaims is a claims set standing for a refresh family's session: the
// session's id, and its start as iat (rounded down: a session started in
// the second of a subject's watermark counts as before it).
func familyClaims(iss, sub, family string, started time.Time) []byte {
	b, _ := json.Marshal(map[string]any{"iss": iss, "sub": sub, "sid": family, "iat": started.Unix()})
	return b
}
