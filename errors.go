package jwtguard

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
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
	// ErrKeysUnavailable: the signing keys could not be loaded (503 with Retry-After).
	ErrKeysUnavailable = errors.New("jwtguard: signing keys unavailable")
	// ErrConfig: [New] was given an invalid or unsafe configuration.
	ErrConfig = errors.New("jwtguard: invalid configuration")
)

// Error is the error type returned by [Guard.Authenticate] and the
// authorization middlewares. It carries what an RFC 6750 response needs.
type Error struct {
	Status      int    // HTTP status
	Code        string // RFC 6750 error code; "" when the request had no credentials
	Description string // safe to show to clients; never the text of an underlying error
	Scope       string // required scopes, for insufficient_scope
	RetryAfter  int    // seconds, for 503
	Err         error  // one of the sentinels above
}

func (e *Error) Error() string { return e.Err.Error() + ": " + e.Description }

// Unwrap returns the sentinel, so errors.Is works.
func (e *Error) Unwrap() error { return e.Err }

// StatusCode returns the HTTP status; echo renders errors through it.
func (e *Error) StatusCode() int { return e.Status }

type failure struct {
	status      int
	code        string
	description string
}

// failures maps each sentinel to its response. Descriptions stay generic on
// purpose: they tell a client what to fix without helping an attacker probe.
var failures = map[error]failure{
	ErrNoToken:              {http.StatusUnauthorized, "", "authentication required"},
	ErrInvalidRequest:       {http.StatusBadRequest, "invalid_request", "malformed credentials"},
	ErrMultipleTokens:       {http.StatusBadRequest, "invalid_request", "more than one token in request"},
	ErrMalformedToken:       {http.StatusUnauthorized, "invalid_token", "malformed token"},
	ErrTokenTooLarge:        {http.StatusUnauthorized, "invalid_token", "token too large"},
	ErrUnsupportedAlgorithm: {http.StatusUnauthorized, "invalid_token", "signing algorithm not accepted"},
	ErrUnsupportedHeader:    {http.StatusUnauthorized, "invalid_token", "token header not accepted"},
	ErrEncryption:           {http.StatusUnauthorized, "invalid_token", "token encryption not accepted"},
	ErrUnknownKey:           {http.StatusUnauthorized, "invalid_token", "unknown signing key"},
	ErrSignature:            {http.StatusUnauthorized, "invalid_token", "invalid signature"},
	ErrExpired:              {http.StatusUnauthorized, "invalid_token", "token expired"},
	ErrNotYetValid:          {http.StatusUnauthorized, "invalid_token", "token not yet valid"},
	ErrMissingClaim:         {http.StatusUnauthorized, "invalid_token", "required claim missing"},
	ErrIssuer:               {http.StatusUnauthorized, "invalid_token", "issuer not trusted"},
	ErrAudience:             {http.StatusUnauthorized, "invalid_token", "audience not accepted"},
	ErrRejected:             {http.StatusUnauthorized, "invalid_token", "token rejected"},
	ErrInsufficientScope:    {http.StatusForbidden, "insufficient_scope", "insufficient scope"},
	ErrForbidden:            {http.StatusForbidden, "", "forbidden"},
	ErrCrossOrigin:          {http.StatusForbidden, "", "cross-origin request refused"},
	ErrKeysUnavailable:      {http.StatusServiceUnavailable, "", "signing keys temporarily unavailable"},
}

// fail builds the *Error for a sentinel.
func fail(sentinel error) *Error {
	f, ok := failures[sentinel]
	if !ok {
		f = failures[ErrRejected]
	}
	return &Error{Status: f.status, Code: f.code, Description: f.description, Err: sentinel}
}

// asError turns any error into an *Error. Errors that are not ours (from a
// validator, say) become invalid_token without exposing their text.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	for sentinel := range failures {
		if errors.Is(err, sentinel) {
			return fail(sentinel)
		}
	}
	out := fail(ErrRejected)
	out.Err = errors.Join(ErrRejected, err)
	return out
}

// Challenge renders the WWW-Authenticate value for err (RFC 6750 §3).
// Every parameter value is filtered to RFC 6750's character set.
func Challenge(realm string, err error) string {
	e := asError(err)
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
	e := asError(err)
	h := w.Header()
	if e.Status == http.StatusUnauthorized || e.Code != "" {
		h.Set("WWW-Authenticate", Challenge(realm, e))
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
