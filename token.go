package jwtguard

import (
	"context"
	"errors"
	"time"

	"github.com/jwtguard/jwtguard/internal/jose"
)

// verifyJWS checks the JWS layer of a parsed token: no crit header, a key
// from src that fits the alg (fetching once for an unknown kid), and a
// signature that verifies. The caller has checked alg against its allow-list.
// sig is t's signature, kept apart (see jose.ParseCompactInto).
func verifyJWS(ctx context.Context, t *jose.Token, sig []byte, src keySource, now time.Time) error {
	h := &t.Header
	set, err := src.keys(ctx, now)
	if err != nil {
		return keysError(err)
	}
	err = set.VerifySignature(t, sig)
	if errors.Is(err, jose.ErrUnknownKey) {
		if set, err = src.refresh(ctx, h.Kid); err != nil {
			return keysError(err)
		}
		err = set.VerifySignature(t, sig)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jose.ErrCrit):
		return failf(ErrUnsupportedHeader, "%v", err)
	case errors.Is(err, jose.ErrUnknownKey) && h.Kid == "":
		return failf(ErrUnknownKey, "no kid, and no key for %s (kids: %s)", h.Alg, quoteList(set.Kids()))
	case errors.Is(err, jose.ErrUnknownKey):
		return failf(ErrUnknownKey, "kid %s not in the key set (kids: %s)", quote(h.Kid), quoteList(set.Kids()))
	case errors.Is(err, jose.ErrAlgorithm):
		return failf(ErrUnsupportedAlgorithm, "no key (kid %s) allows algorithm %s", quote(h.Kid), quote(h.Alg))
	}
	return failf(ErrSignature, "%s signature does not verify", h.Alg)
}
