package jwtguard

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors. Every error returned by [Guard.Authenticate] matches
// exactly one of them with [errors.Is], and is an [*Error] for [errors.As].
var (
	// ErrNoToken: the request carries no token (401, bare challenge, RFC 6750 §3.1).
	ErrNoToken = errors.New("jwtguard: no token in request")
	// ErrInvalidRequest: a malformed Authorization header, a repeated header or cookie (400).
	ErrInvalidRequest = errors.New("jwtguard: malformed request")
	// ErrMultipleTokens: the request carries tokens in more than one place (400, RFC 6750 §2).
	ErrMultipleTokens = errors.New("jwtguard: more than one token in request")
	// ErrMalformedToken: the token is not a well-formed signed JWT.
	ErrMalformedToken = errors.New("jwtguard: malformed token")
	// ErrTokenTooLarge: the token is longer than the configured maximum.
	ErrTokenTooLarge = errors.New("jwtguard: token too large")
	// ErrUnsupportedAlgorithm: the token's alg is not allowed, or does not fit the key.
	ErrUnsupportedAlgorithm = errors.New("jwtguard: algorithm not allowed")
	// ErrUnsupportedHeader: the token has a crit header, or a typ that was not asked for.
	ErrUnsupportedHeader = errors.New("jwtguard: unsupported token header")
	// ErrEncryption: an encrypted token could not be opened with the
	// configured keys and algorithms, or a plain token came where
	// encryption is required (see WithDecryptionKey).
	ErrEncryption = errors.New("jwtguard: token encryption not accepted")
	// ErrUnknownKey: no trusted key matches the token's kid.
	ErrUnknownKey = errors.New("jwtguard: unknown signing key")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("jwtguard: invalid signature")
	// ErrExpired: exp is in the past (beyond the leeway).
	ErrExpired = errors.New("jwtguard: token expired")
	// ErrNotYetValid: nbf is in the future, or iat is in the future (beyond the leeway).
	ErrNotYetValid = errors.New("jwtguard: token not yet valid")
	// ErrMissingClaim: a required claim (exp, or iss/aud when checked) is absent.
	ErrMissingClaim = errors.New("jwtguard: required claim missing")
	// ErrIssuer: iss is not a trusted issuer.
	ErrIssuer = errors.New("jwtguard: untrusted issuer")
	// ErrAudience: aud names none of the accepted audiences.
	ErrAudience = errors.New("jwtguard: audience not accepted")
	// ErrRejected: a validator configured with [WithValidator] refused the token.
	ErrRejected = errors.New("jwtguard: token rejected")
	// ErrInsufficientScope: the token lacks a scope the route requires (403).
	ErrInsufficientScope = errors.New("jwtguard: insufficient scope")
	// ErrForbidden: a claim requirement of the route is not met (403).
	ErrForbidden = errors.New("jwtguard: forbidden")
	// ErrCrossOrigin: a cookie-authenticated unsafe request came from another origin (403).
	ErrCrossOrigin = errors.New("jwtguard: cross-origin request refused")
	// ErrKeysUnavailable: the signing keys could not be loaded for a reason
	// that may pass: the network, a timeout, a 5xx (503 with Retry-After).
	ErrKeysUnavailable = errors.New("jwtguard: signing keys unavailable")
	// ErrKeysMisconfigured: the key source answers, but wrongly: a 404, a
	// document that is not a key set, a discovery document naming another
	// issuer. Retrying soon will not help; someone must fix the identity
	// provider or the configuration (500, no Retry-After).
	ErrKeysMisconfigured = errors.New("jwtguard: signing keys misconfigured")
	// ErrRevoked: the token, its session or its subject was revoked (see [Revoker]).
	ErrRevoked = errors.New("jwtguard: token revoked")
	// ErrRevocationUnavailable: a [Revoker] cannot tell whether the token
	// was revoked (its mirror is out of date): 503 with Retry-After, fail closed.
	ErrRevocationUnavailable = errors.New("jwtguard: revocation state unavailable")
	// ErrInvalidDPoPProof: the DPoP proof is missing, malformed, doubled,
	// or fails a check of RFC 9449 §4.3 (401, invalid_dpop_proof).
	ErrInvalidDPoPProof = errors.New("jwtguard: invalid DPoP proof")
	// ErrUseDPoPNonce: the proof lacks the server's current nonce (401,
	// use_dpop_nonce, with a DPoP-Nonce header; RFC 9449 §9).
	ErrUseDPoPNonce = errors.New("jwtguard: DPoP nonce required")
	// ErrTokenBinding: the token is bound to a key or certificate (cnf)
	// that the request does not prove: a DPoP-bound token sent as Bearer,
	// a certificate-bound token without that client certificate, an
	// unbound token where binding is required (401, invalid_token).
	ErrTokenBinding = errors.New("jwtguard: token binding not proven")
	// ErrReplayCheckUnavailable: the DPoP replay store cannot tell whether
	// a proof was used before (503, fail closed).
	ErrReplayCheckUnavailable = errors.New("jwtguard: DPoP replay check unavailable")
	// ErrConfig: [New] was given an invalid or unsafe configuration.
	ErrConfig = errors.New("jwtguard: invalid configuration")
)

// Error is the error type returned by [Guard.Authenticate] and the
// authorization middlewares. It carries what an RFC 6750 response needs
// and, for operators only, why the request was refused.
type Error struct {
	Status      int    // HTTP status
	Code        string // RFC 6750 error code; "" when the request had no credentials
	Description string // safe to show to clients; never the text of an underlying error
	Scope       string // required scopes, for insufficient_scope
	RetryAfter  int    // seconds, for 503
	Err         error  // one of the sentinels above

	// Detail says in words why the request was refused, with the values
	// involved: `issuer "https://x/" not trusted (trusted: "https://x")`.
	// It quotes what the token claims and what the guard accepts, so it is
	// for logs and error handlers, never for the HTTP response.
	Detail string
	// Token is what the refused token said, when it was read that far; nil
	// otherwise. For logs and error handlers only, like Detail.
	Token *TokenFacts

	cause error          // a validator's or requirement's own error
	dpop  *dpopChallenge // set by WriteError when the guard accepts DPoP
}

// TokenFacts are the unverified facts of a refused token, for diagnosis.
type TokenFacts struct {
	Alg, Kid, Typ string
	Issuer        string
	Audience      []string
	ExpiresAt     time.Time // zero when absent
	NotBefore     time.Time
	IssuedAt      time.Time
	Now           time.Time     // the guard's clock at the decision
	Leeway        time.Duration // the leeway that applied
}

// LogValue renders the facts as a log group.
func (f *TokenFacts) LogValue() slog.Value {
	if f == nil {
		return slog.Value{}
	}
	attrs := []slog.Attr{slog.String("alg", clip(f.Alg)), slog.String("kid", clip(f.Kid)), slog.String("typ", clip(f.Typ)),
		slog.String("iss", clip(f.Issuer)), slog.String("aud", clip(strings.Join(f.Audience, " ")))}
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"exp", f.ExpiresAt}, {"nbf", f.NotBefore}, {"iat", f.IssuedAt}} {
		if !t.at.IsZero() {
			attrs = append(attrs, slog.Time(t.name, t.at))
		}
	}
	return slog.GroupValue(attrs...)
}

// Error returns the sentinel's text and, when known, the detail.
func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Detail
}

// Unwrap returns the sentinel and, when a validator or requirement
// refused, its own error: errors.Is and errors.As see both.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Err, e.cause}
	}
	return []error{e.Err}
}

// Redacted returns an error whose text is the sentinel's alone, without
// Detail, and which unwraps to e: hand it to frameworks that may render an
// error's text to clients (gin's ErrorLogger, echo in debug mode).
func (e *Error) Redacted() error { return redactedError{e} }

type redactedError struct{ e *Error }

func (r redactedError) Error() string { return r.e.Err.Error() }
func (r redactedError) Unwrap() error { return r.e }

// StatusCode returns the HTTP status; echo renders errors through it.
func (e *Error) StatusCode() int { return e.Status }

type failure struct {
	sentinel    error
	status      int
	code        string
	description string
}

// failures maps each sentinel to its response, in a fixed order (asError
// takes the first match). Descriptions stay generic on purpose: they tell
// a client what to fix without helping an attacker probe.
var failures = []failure{
	{ErrNoToken, http.StatusUnauthorized, "", "authentication required"},
	{ErrInvalidRequest, http.StatusBadRequest, "invalid_request", "malformed credentials"},
	{ErrMultipleTokens, http.StatusBadRequest, "invalid_request", "more than one token in request"},
	{ErrMalformedToken, http.StatusUnauthorized, "invalid_token", "malformed token"},
	{ErrTokenTooLarge, http.StatusUnauthorized, "invalid_token", "token too large"},
	{ErrUnsupportedAlgorithm, http.StatusUnauthorized, "invalid_token", "signing algorithm not accepted"},
	{ErrUnsupportedHeader, http.StatusUnauthorized, "invalid_token", "token header not accepted"},
	{ErrEncryption, http.StatusUnauthorized, "invalid_token", "token encryption not accepted"},
	{ErrUnknownKey, http.StatusUnauthorized, "invalid_token", "unknown signing key"},
	{ErrSignature, http.StatusUnauthorized, "invalid_token", "invalid signature"},
	{ErrExpired, http.StatusUnauthorized, "invalid_token", "token expired"},
	{ErrNotYetValid, http.StatusUnauthorized, "invalid_token", "token not yet valid"},
	{ErrMissingClaim, http.StatusUnauthorized, "invalid_token", "required claim missing"},
	{ErrIssuer, http.StatusUnauthorized, "invalid_token", "issuer not trusted"},
	{ErrAudience, http.StatusUnauthorized, "invalid_token", "audience not accepted"},
	{ErrRejected, http.StatusUnauthorized, "invalid_token", "token rejected"},
	{ErrRevoked, http.StatusUnauthorized, "invalid_token", "token revoked"},
	{ErrInsufficientScope, http.StatusForbidden, "insufficient_scope", "insufficient scope"},
	{ErrForbidden, http.StatusForbidden, "", "forbidden"},
	{ErrCrossOrigin, http.StatusForbidden, "", "cross-origin request refused"},
	{ErrKeysUnavailable, http.StatusServiceUnavailable, "", "signing keys temporarily unavailable"},
	{ErrKeysMisconfigured, http.StatusInternalServerError, "", "signing keys misconfigured"},
	{ErrRevocationUnavailable, http.StatusServiceUnavailable, "", "revocation state temporarily unavailable"},
	{ErrInvalidDPoPProof, http.StatusUnauthorized, "invalid_dpop_proof", "invalid DPoP proof"},
	{ErrUseDPoPNonce, http.StatusUnauthorized, "use_dpop_nonce", "DPoP nonce required"},
	{ErrTokenBinding, http.StatusUnauthorized, "invalid_token", "token binding not proven"},
	{ErrReplayCheckUnavailable, http.StatusServiceUnavailable, "", "DPoP replay check temporarily unavailable"},
}

// fail builds the *Error for a sentinel.
func fail(sentinel error) *Error {
	for _, f := range failures {
		if f.sentinel == sentinel {
			return &Error{Status: f.status, Code: f.code, Description: f.description, Err: sentinel}
		}
	}
	e := fail(ErrRejected)
	e.Err = sentinel
	return e
}

// failf is fail with a detail for operators.
func failf(sentinel error, format string, args ...any) *Error {
	e := fail(sentinel)
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

// asError turns any error into an *Error. An error that is not ours (from
// a validator, say) becomes fallback, keeping the error as its cause and
// its text as the detail, never in the response.
func asError(err error, fallback error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	for _, f := range failures {
		if errors.Is(err, f.sentinel) {
			return fail(f.sentinel)
		}
	}
	out := fail(fallback)
	out.cause = err
	out.Detail = err.Error()
	return out
}

// clip bounds a value quoted from a token in logs and details.
func clip(s string) string {
	const limit = 128
	if len(s) <= limit {
		return s
	}
	for i := limit; i > limit-4; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return s[:limit] + "…"
}

// quote renders a token's value for a detail: quoted, escaped, bounded.
func quote(s string) string { return strconv.Quote(clip(s)) }

// quoteList renders accepted values for a detail: "a", "b".
func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = quote(s)
	}
	return strings.Join(q, ", ")
}

// Challenge renders the WWW-Authenticate value for err (RFC 6750 §3).
// Every parameter value is filtered to RFC 6750's character set.
func Challenge(realm string, err error) string {
	e := asError(err, ErrRejected)
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	param := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(challengeSafe(value))
		b.WriteString(`"`)
		sep = ", "
	}
	if realm != "" {
		param("realm", realm)
	}
	if e.Code != "" && e.Status != http.StatusServiceUnavailable {
		param("error", e.Code)
		if e.Description != "" {
			param("error_description", e.Description)
		}
	}
	if e.Scope != "" {
		param("scope", e.Scope)
	}
	return b.String()
}

// challengeSafe keeps only %x20-21 / %x23-5B / %x5D-7E (RFC 6750 §3), so a
// value can never break out of its quoted string.
func challengeSafe(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if !challengeByte(s[i]) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if challengeByte(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func challengeByte(c byte) bool {
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'
}

// errorBody is the default JSON body of a refusal.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeError writes the RFC 6750 response for err: status, challenge,
// Retry-After for 503, and a small JSON body.
func writeError(w http.ResponseWriter, realm string, err error) {
	e := asError(err, ErrRejected)
	h := w.Header()
	if e.Status == http.StatusUnauthorized || e.Code != "" {
		setChallenges(h, realm, e) // Challenge's, and DPoP's when accepted
	}
	if e.Status == http.StatusServiceUnavailable {
		retry := e.RetryAfter
		if retry <= 0 {
			retry = 30
		}
		h.Set("Retry-After", strconv.Itoa(retry))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	code := e.Code
	if code == "" {
		code = strings.ToLower(strings.ReplaceAll(http.StatusText(e.Status), " ", "_"))
	}
	_ = json.NewEncoder(w).Encode(errorBody{Error: code, Description: e.Description})
}
