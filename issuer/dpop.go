package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jwtguard/jwtguard"
)

// WithDPoP makes the issuer bind access tokens to DPoP keys (RFC 9449): a
// token request that carries a DPoP header gets its proof checked by c
// (the guard's own checks: typ, alg, a public jwk, the signature, htm, htu,
// iat, the nonce if c requires them, jti used once; see
// [jwtguard.DPoPChecker]) and, when it passes, an access token with
// cnf.jkt, the RFC 7638 thumbprint of the proof's key, and token_type
// "DPoP". A request with a bad proof is refused (400 invalid_dpop_proof,
// or use_dpop_nonce with a DPoP-Nonce header), never given a bearer token
// instead. Requests without a DPoP header get bearer tokens as before.
// [Issuer.IssueFor], [Issuer.TokenHandler] and [Sessions] use it; a session
// started or refreshed with a proof is bound to that key (see [Sessions]).
//
// The htu of a proof is the URL of the endpoint it is sent to: behind a
// proxy, build c with jwtguard.WithPublicOrigin. Default: no DPoP; DPoP
// headers are ignored and every token is a bearer token.
func WithDPoP(c *jwtguard.DPoPChecker) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("nil DPoP checker")
		}
		cfg.dpop = c
		return nil
	}
}

// Token is an access token as a token endpoint returns it (RFC 6749 §5.1,
// RFC 9449 §5): encode it as JSON for the response body.
type Token struct {
	AccessToken string `json:"access_token"`
	// TokenType is "DPoP" for a token bound to the key of the request's
	// DPoP proof, "Bearer" otherwise.
	TokenType string `json:"token_type"`
	// ExpiresIn is the token's lifetime in seconds.
	ExpiresIn int64 `json:"expires_in"`
	// KeyThumbprint is the token's cnf.jkt, "" for a bearer token.
	KeyThumbprint string `json:"-"`
	// ExpiresAt is when the token expires, on the issuer's clock.
	ExpiresAt time.Time `json:"-"`
}

// IssueFor issues an access token for subject (with extra claims, as
// [Issuer.Issue]) to the client that sent r: bound to the key of r's DPoP
// proof when r carries one and the issuer does DPoP ([WithDPoP]), a bearer
// token otherwise. A refused proof is an error wrapping
// jwtguard.ErrInvalidDPoPProof, jwtguard.ErrUseDPoPNonce or
// jwtguard.ErrReplayCheckUnavailable; [Issuer.WriteTokenError] answers any
// error of IssueFor as RFC 9449 and RFC 6749 say.
func (iss *Issuer) IssueFor(r *http.Request, subject string, extra map[string]any) (Token, error) {
	jkt, err := iss.proofKey(r)
	if err != nil {
		return Token{}, err
	}
	return iss.token(subject, extra, "", time.Time{}, jkt)
}

// TokenHandler serves a token endpoint: POST only (a form body of at most
// 16 KiB), answered with Cache-Control: no-store. check authenticates the
// request however the application grants tokens (a password, a client
// secret) and returns the subject and extra claims, or an error:
// [ErrInvalidCredentials] is answered 400 invalid_grant, any other 500. A
// DPoP proof, when the request has one, is checked first (see [WithDPoP]),
// so a client retrying with a server nonce costs no credential check. The
// answer is a [Token] as JSON, with the next server nonce in DPoP-Nonce
// when the checker requires nonces.
func (iss *Issuer) TokenHandler(check func(r *http.Request) (subject string, claims map[string]any, err error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		jkt, err := iss.proofKey(r)
		if err != nil {
			iss.WriteTokenError(w, err)
			return
		}
		subject, claims, err := check(r)
		if err == nil && subject == "" {
			err = ErrInvalidCredentials
		}
		if err != nil {
			iss.WriteTokenError(w, err)
			return
		}
		t, err := iss.token(subject, claims, "", time.Time{}, jkt)
		if err != nil {
			iss.WriteTokenError(w, err)
			return
		}
		iss.writeToken(w, t)
	})
}

// WriteTokenError answers a token request refused with err as RFC 6749
// §5.2 and RFC 9449 §5 and §8 say, with a JSON body {"error": code}: a
// refused DPoP proof is 400 invalid_dpop_proof, a proof without the current
// server nonce 400 use_dpop_nonce with the nonce in DPoP-Nonce,
// [ErrInvalidCredentials] 400 invalid_grant, a replay store that cannot
// answer 503 with Retry-After, anything else 500 server_error. No error
// text reaches the client.
func (iss *Issuer) WriteTokenError(w http.ResponseWriter, err error) {
	w.Header().Set("Cache-Control", "no-store")
	status, code := http.StatusBadRequest, ""
	switch {
	case errors.Is(err, jwtguard.ErrUseDPoPNonce):
		if iss.dpop != nil {
			w.Header().Set("DPoP-Nonce", iss.dpop.Nonce())
		}
		code = "use_dpop_nonce"
	case errors.Is(err, jwtguard.ErrInvalidDPoPProof):
		code = "invalid_dpop_proof"
	case errors.Is(err, ErrInvalidCredentials):
		code = "invalid_grant"
	case errors.Is(err, jwtguard.ErrReplayCheckUnavailable):
		w.Header().Set("Retry-After", strconv.Itoa(storeRetryAfter))
		status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
	default:
		status, code = http.StatusInternalServerError, "server_error"
	}
	// The client gets the fixed description of the refusal's kind; the log
	// gets why (which check failed, with its values).
	description := ""
	var e *jwtguard.Error
	if errors.As(err, &e) && status < 500 {
		description = e.Description
	}
	level := slog.LevelDebug // the client's mistake: clients control their volume
	if status >= 500 {
		level = slog.LevelError
	}
	iss.log.Log(context.Background(), level, "issuer: token request refused", "error", code, "reason", err.Error())
	writeJSONError(w, status, code, description)
}

// proofKey returns the thumbprint of the key of r's DPoP proof, checked:
// "" when the issuer does not do DPoP or r has no DPoP header.
func (iss *Issuer) proofKey(r *http.Request) (string, error) {
	if iss.dpop == nil || len(r.Header.Values("DPoP")) == 0 {
		return "", nil
	}
	return iss.dpop.Check(r)
}

// token issues an access token (see issue) and describes it.
func (iss *Issuer) token(subject string, extra map[string]any, sid string, notAfter time.Time, jkt string) (Token, error) {
	access, exp, err := iss.issue(subject, extra, sid, notAfter, jkt)
	if err != nil {
		return Token{}, err
	}
	t := Token{AccessToken: access, TokenType: "Bearer", ExpiresAt: exp, KeyThumbprint: jkt,
		ExpiresIn: int64(exp.Sub(iss.now()) / time.Second)}
	if jkt != "" {
		t.TokenType = "DPoP"
	}
	return t, nil
}

// writeToken answers 200 with t as JSON, and the next server nonce for a
// DPoP token when nonces are on (RFC 9449 §8.2).
func (iss *Issuer) writeToken(w http.ResponseWriter, t Token) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if t.KeyThumbprint != "" && iss.dpop != nil {
		if n := iss.dpop.Nonce(); n != "" {
			h.Set("DPoP-Nonce", n)
		}
	}
	_ = json.NewEncoder(w).Encode(t)
}

// proofKey is Issuer.proofKey for a session request; a refused proof is
// answered (and logged) by WriteTokenError, and ok is false.
func (s *Sessions) proofKey(w http.ResponseWriter, r *http.Request) (jkt string, ok bool) {
	jkt, err := s.iss.proofKey(r)
	if err != nil {
		s.iss.WriteTokenError(w, err)
		return "", false
	}
	return jkt, true
}
