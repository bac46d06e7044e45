package jwtguard

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
)

// An Extractor finds a token in a request (named so as not to be confused
// with oauth2.TokenSource, which obtains tokens rather than finding them). Build one with
// [FromAuthorizationHeader], [FromCookie], [FromHeader], [InsecureFromQuery]
// or [FromFunc]; pass several to [WithExtractors].
type Extractor struct {
	name    string
	extract func(*http.Request) (string, error)
	// ambient sources are sent by browsers on their own (cookies), so
	// unsafe requests that use them get a cross-origin check.
	ambient bool
	cookie  string // the cookie's name, for FromCookie
	// standalone sources return a string that shares memory with nothing
	// much larger, which the token cache may keep without a copy.
	standalone bool
	// grammar, when set, is a check of the token's syntax that extract
	// leaves to the guard, which runs it on a refused token only: a token
	// that verifies has passed a stricter one (strict base64url segments
	// and dots) or equals one that has (a cache hit), so checking it first
	// would only tell invalid_request from invalid_token, at a scan of
	// every byte of every request.
	grammar func(token string) error
	// mayBlock: an application's function (FromFunc), which may take any
	// time (a session store, say).
	mayBlock bool
}

// grammarError is the refusal of token by the source's deferred grammar
// check (Extractor.grammar), or nil.
func (s *Extractor) grammarError(token string) error {
	if s.grammar == nil {
		return nil
	}
	if bad := s.grammar(token); bad != nil {
		return fmt.Errorf("%s: %w", s.name, bad)
	}
	return nil
}

// String names the source, for logs.
func (s Extractor) String() string { return s.name }

// FromAuthorizationHeader reads "Authorization: Bearer <token>" (RFC 6750
// §2.1; the scheme is case-insensitive). A repeated Authorization header or
// a Bearer value that is not a b64token is an invalid request (400); another
// scheme, such as Basic, counts as no token.
func FromAuthorizationHeader() Extractor {
	return Extractor{name: "authorization header", extract: bearerTokenUnchecked, grammar: b64TokenGrammar, standalone: true}
}

// bearerToken is the Authorization header's token, its grammar checked, as
// a guard treats it.
func bearerToken(r *http.Request) (string, error) {
	token, err := bearerTokenUnchecked(r)
	if err == nil && token != "" {
		err = b64TokenGrammar(token)
	}
	if err != nil {
		return "", err
	}
	return token, nil
}

// b64TokenGrammar refuses a Bearer token outside RFC 6750's b64token.
func b64TokenGrammar(token string) error {
	if i := b64TokenEnd(token); i < len(token) {
		return invalidRequest("Bearer token has a character outside RFC 6750's b64token at byte %d (a quote, a newline, a space?)", i)
	}
	return nil
}

// bearerTokenUnchecked is bearerToken without the b64token check, which
// the guard runs on refused tokens only (Extractor.grammar).
func bearerTokenUnchecked(r *http.Request) (string, error) {
	values := r.Header["Authorization"]
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", invalidRequest("%d Authorization headers", len(values))
	}
	v := values[0]
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		if strings.TrimSpace(v) == "" {
			return "", invalidRequest("empty Authorization header")
		}
		return "", nil
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" {
		return "", invalidRequest("Bearer with no token")
	}
	if len(v)-len(token) > 64 { // a run of spaces: keep the token standalone
		token = strings.Clone(token)
	}
	return token, nil
}

// b64TokenEnd returns the length of the longest b64token prefix of s, in
// one pass: the header is the client's, so the cost must stay linear.
func b64TokenEnd(s string) int {
	i := 0
	// Eight bytes a step with one branch: every byte of every request's
	// token passes here, and this halves the scan.
	for ; len(s)-i >= 8; i += 8 {
		b := s[i : i+8]
		t := &b64TokenAlphabet
		if t[b[0]]&t[b[1]]&t[b[2]]&t[b[3]]&t[b[4]]&t[b[5]]&t[b[6]]&t[b[7]] == 0 {
			break
		}
	}
	for i < len(s) && b64TokenAlphabet[s[i]] == 1 {
		i++
	}
	if i == 0 {
		return 0
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i
}

// b64TokenAlphabet is 1 for RFC 6750's b64token characters (but '='), 0
// for the rest.
var b64TokenAlphabet = func() (t [256]uint8) {
	for c := range 256 {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			t[c] = 1
		}
	}
	return t
}()

// isB64Token checks RFC 6750's b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool { return s != "" && b64TokenEnd(s) == len(s) }

// FromHeader reads the whole value of header name as the token (for
// gateways that pass tokens in, say, X-Access-Token). A repeated header is
// an invalid request.
func FromHeader(name string) Extractor {
	key := textproto.CanonicalMIMEHeaderKey(name)
	return Extractor{name: "header " + key, extract: func(r *http.Request) (string, error) {
		values := r.Header[key]
		switch {
		case len(values) == 0:
			return "", nil
		case len(values) > 1:
			return "", ErrInvalidRequest
		}
		token := strings.TrimSpace(values[0])
		if !isB64Token(token) {
			return "", ErrInvalidRequest
		}
		return token, nil
	}}
}

// InsecureFromQuery reads the token from query parameter name. Tokens in
// URLs end up in proxy logs, browser history and Referer headers (RFC 6750
// §2.3, §5.3): use it only where nothing else is possible, such as WebSocket
// handshakes from browsers.
func InsecureFromQuery(name string) Extractor {
	return Extractor{name: "query " + name, extract: func(r *http.Request) (string, error) {
		values, ok := r.URL.Query()[name]
		switch {
		case !ok:
			return "", nil
		case len(values) > 1:
			return "", ErrInvalidRequest
		}
		if !isB64Token(values[0]) {
			return "", ErrInvalidRequest
		}
		return values[0], nil
	}}
}

// FromFunc wraps a custom extractor. f returns "" and nil when the request
// has no token, and a non-nil error (ideally [ErrInvalidRequest]) when the
// request is malformed.
//
// A custom source is treated like a cookie: the guard cannot see where f
// looked, and a value that browsers send on their own (a cookie, HTTP
// auth) is open to cross-site request forgery, so unsafe requests and
// WebSocket handshakes that use it must pass the cross-origin check. If f
// reads only what a page's script sets explicitly (a custom header), say
// so with [Extractor.WithoutCrossOriginCheck].
func FromFunc(name string, f func(*http.Request) (string, error)) Extractor {
	return Extractor{name: name, extract: f, ambient: true, mayBlock: true}
}

// WithoutCrossOriginCheck declares that browsers never send this source's
// token on their own (it is not a cookie), so cross-origin requests that
// use it skip the CSRF check. Wrong for any source that reads cookies.
func (s Extractor) WithoutCrossOriginCheck() Extractor {
	s.ambient = false
	return s
}

// noTokenDetail says where the guard looked, and why a cookie may be
// missing: browsers never send a Secure (or __Host-/__Secure-) cookie over
// plain http, the commonest surprise in local development.
func noTokenDetail(r *http.Request, sources []Extractor) string {
	names := make([]string, len(sources))
	hint := ""
	for i, s := range sources {
		names[i] = s.name
		if s.cookie != "" && r.TLS == nil && (strings.HasPrefix(s.cookie, "__Host-") || strings.HasPrefix(s.cookie, "__Secure-")) {
			hint = "; the request came over plain http, and browsers send " + s.cookie + " over https only"
		}
	}
	if v := r.Header.Get("Authorization"); v != "" && hint == "" {
		scheme, _, _ := strings.Cut(v, " ")
		if len(scheme) > 20 {
			scheme = scheme[:20] + "…"
		}
		if strings.EqualFold(scheme, "DPoP") {
			hint = "; the Authorization header uses the DPoP scheme, which this guard does not accept (WithDPoP)"
		} else {
			hint = fmt.Sprintf("; the Authorization header's scheme is %q, not Bearer (a token sent without the \"Bearer \" prefix?)", scheme)
		}
	}
	return "no token in " + strings.Join(names, ", ") + hint
}

// extractToken runs every source. It returns the token and the source it
// came from, or ErrNoToken, ErrMultipleTokens or the first source's error.
func extractToken(r *http.Request, sources []Extractor) (string, *Extractor, error) {
	var (
		token string
		from  *Extractor
	)
	for i := range sources {
		t, err := sources[i].extract(r)
		if err == nil && t == "" {
			continue
		}
		// A token whose grammar was left for later fails before whatever
		// comes after it, as it would have had it been checked at once.
		if from != nil {
			if bad := from.grammarError(token); bad != nil {
				return "", nil, bad
			}
		}
		switch {
		case err != nil: // a source's own error, ErrMultipleTokens included
			return "", nil, fmt.Errorf("%s: %w", sources[i].name, err)
		case from != nil:
			if bad := sources[i].grammarError(t); bad != nil {
				return "", nil, bad
			}
			return "", nil, fmt.Errorf("%w: %s and %s", ErrMultipleTokens, from.name, sources[i].name)
		}
		token, from = t, &sources[i]
	}
	if from == nil {
		return "", nil, ErrNoToken
	}
	return token, from, nil
}

// invalidRequest is a malformed-credentials error (ErrInvalidRequest) that
// says what was wrong, for the log.
func invalidRequest(format string, args ...any) error {
	return &requestError{fmt.Sprintf(format, args...)}
}

type requestError struct{ detail string }

func (e *requestError) Error() string { return e.detail }
func (e *requestError) Unwrap() error { return ErrInvalidRequest }
