package issuer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/jwtguard/jwtguard"
)

// ErrInvalidCredentials is what a login check returns for a wrong user or
// password; the login handler answers it with 401.
var ErrInvalidCredentials = errors.New("issuer: invalid credentials")

// errRefresh is every refusal of a refresh token; clients learn nothing more.
var errRefresh = errors.New("issuer: invalid refresh token")

// Sessions runs browser sessions on cookies: a short-lived access token in
// an HttpOnly cookie and an opaque refresh token, rotated on every use, in
// an HttpOnly cookie scoped to the auth endpoints. Safe for concurrent use.
//
// The refresh tokens rotated from one login form a family, whose id is the
// access tokens' sid, so revoking the family (logout, theft) also ends its
// access tokens: Sessions records the session as revoked in its
// [Revocations], which the guards consult ([Sessions.Revoker]). A spent refresh token that
// comes back was copied, and whoever holds the live one may be the thief, so
// the family is revoked (RFC 9700 §4.14.2). Except that two tabs refreshing
// at once send the same token, and that must not log the user out:
//
//   - A token exchanged less than the grace window ago ([WithRefreshGrace],
//     10 s by default) may be exchanged once more. The late exchange gets a
//     refresh token of its own (the first one's is stored only as a hash),
//     of the family's newest generation; the browser keeps whichever cookie
//     arrives last, and either works.
//   - Any other reuse revokes the family: a second late exchange, one after
//     the window, and an unused token older than the family's newest
//     generation. The last rule ends parallel branches: once one of two
//     sibling tokens is exchanged, the other is dead on arrival, so a copy
//     replayed inside the window yields a session only until both sides
//     have refreshed once more.
//
// Three tabs refreshing at the same instant do revoke the session; pages
// that can do that should take turns (the Web Locks API).
//
// The refresh cookie is "__Secure-", with the auth path: a "__Host-" one
// needs Path=/ and would carry a long-lived secret to every route, log and
// proxy of the site. The price is that a sibling subdomain can plant a
// cookie of that name (cookie tossing). So a refresh token is bound to the
// browser it was issued to: each login sets a "__Host-session_binding"
// cookie (Path=/, HttpOnly, Secure, SameSite=Strict) holding a random value,
// which no other host can set, and the store knows a refresh token only by
// the hash of binding and token together. A planted refresh token is
// unknown under the victim's binding, and a browser without a binding has
// no session to continue: neither can be logged into the planter's account,
// and the browser's own session goes on beside the planted cookie. The
// binding alone is worthless, so it may travel to every route. (With
// jwtguard.InsecureCookieWithoutSecure the names have no prefix, and a
// sibling can plant a binding too: local development only.)
//
// With an issuer that does DPoP ([WithDPoP]), a session can also be bound
// to a key the page holds (RFC 9449 §5: refresh tokens of public clients
// are bound). A login or refresh request with a DPoP proof (a fetch from
// the page: forms cannot add headers) is answered 200 with a [Token] as
// JSON, an access token with cnf.jkt for an "Authorization: DPoP" header
// instead of the access cookie, and the refresh token, still a cookie, is
// stored under the hash of binding, token and key thumbprint together. So
// every later refresh needs a proof by the same key: without one, or with
// another key's, the token is unknown, as a planted one is (401
// invalid_grant). A session started without a proof is bound by the first
// refresh that carries one, and stays bound. Logout finds a bound session's
// refresh token only with a proof by its key; without one it clears the
// cookies, and the session's access tokens live until they expire. A
// refused proof (400 invalid_dpop_proof or use_dpop_nonce, see
// [Issuer.WriteTokenError]) leaves the cookies as they are.
type Sessions struct {
	iss           *Issuer
	store         Store
	revocations   Revocations
	access        jwtguard.TokenCookie
	refresh       jwtguard.TokenCookie
	binding       jwtguard.TokenCookie
	authPath      string
	idle          time.Duration
	absolute      time.Duration
	grace         time.Duration
	throttle      func(*http.Request) (bool, time.Duration)
	afterLogin    string
	afterLogout   string
	log           *slog.Logger
	now           func() time.Time
	crossOrigin   *http.CrossOriginProtection
	cookieOptions []jwtguard.CookieOption
}

// graceReuses is how often a spent refresh token may be exchanged again
// within the grace window: once, for a second tab.
const graceReuses = 1

// storeRetryAfter is the Retry-After, in seconds, of a 503 for a store that
// did not answer.
const storeRetryAfter = 5

// A SessionOption configures [Sessions].
type SessionOption func(*Sessions) error

// WithStore keeps refresh tokens in s. Default: a [MemoryStore].
func WithStore(s Store) SessionOption {
	return func(x *Sessions) error { x.store = s; return nil }
}

// WithAuthPath is the path under which the refresh and logout handlers are
// mounted ("/auth" for /auth/refresh and /auth/logout): the refresh cookie
// is sent to that path only, never to the rest of the site. Default: "/auth".
func WithAuthPath(path string) SessionOption {
	return func(x *Sessions) error {
		if path == "" || path[0] != '/' {
			return errors.New("auth path must start with /")
		}
		x.authPath = path
		return nil
	}
}

// WithRefreshLifetimes sets how long a refresh token lives unused (idle)
// and how long a login lasts however often it is refreshed (absolute).
// Defaults: 24 hours and 7 days.
func WithRefreshLifetimes(idle, absolute time.Duration) SessionOption {
	return func(x *Sessions) error {
		if idle <= 0 || absolute < idle {
			return errors.New("refresh lifetimes: need 0 < idle <= absolute")
		}
		x.idle, x.absolute = idle, absolute
		return nil
	}
}

// WithRefreshGrace sets the grace window for concurrent refreshes: a
// refresh token exchanged less than d ago may be exchanged once more without
// revoking its family (see [Sessions] for the exact rule). Keep it to
// seconds: it is how long a copied token can still be turned into a session
// without being taken for theft. 0 turns it off: any reuse revokes the
// family. At most a minute. Default: 10 seconds.
func WithRefreshGrace(d time.Duration) SessionOption {
	return func(x *Sessions) error {
		if d < 0 || d > time.Minute {
			return errors.New("refresh grace must be between 0 and a minute")
		}
		x.grace = d
		return nil
	}
}

// WithLoginThrottle consults allow before the login handler checks any
// credentials; when it refuses, the handler answers 429 with Retry-After
// (retryAfter rounded up to whole seconds, at least 1) and never calls the
// check. The request body is already size-limited, so allow may read the
// form (r.PostFormValue); the check can read it again.
//
// This package does not throttle by itself: limits, storage and lockout
// policy belong to the application. A good allow limits attempts per
// username and client IP together (slowing password guessing against one
// account without letting anyone lock a user out from anywhere), with a
// looser limit per IP (spraying many accounts) and per username (a botnet on
// one account), and takes the client IP from r.RemoteAddr unless a proxy you
// trust sets it. Count failures in the check function you pass to
// [Sessions.LoginHandler]. Default: no throttling.
func WithLoginThrottle(allow func(r *http.Request) (allowed bool, retryAfter time.Duration)) SessionOption {
	return func(x *Sessions) error {
		if allow == nil {
			return errors.New("nil login throttle")
		}
		x.throttle = allow
		return nil
	}
}

// WithPages makes the handlers answer browser form posts (navigations)
// with 303 redirects: to afterLogin after a login or refresh, to
// afterLogout after a logout. Other requests get 204. Default: always 204.
func WithPages(afterLogin, afterLogout string) SessionOption {
	return func(x *Sessions) error { x.afterLogin, x.afterLogout = afterLogin, afterLogout; return nil }
}

// WithSessionCookieOptions adjusts both cookies, e.g. with
// jwtguard.InsecureCookieWithoutSecure() for local plain-http development.
func WithSessionCookieOptions(opts ...jwtguard.CookieOption) SessionOption {
	return func(x *Sessions) error { x.cookieOptions = append(x.cookieOptions, opts...); return nil }
}

// WithSessionLogger logs refresh-token reuse and store failures at Warn.
// Default: silent.
func WithSessionLogger(l *slog.Logger) SessionOption {
	return func(x *Sessions) error { x.log = l; return nil }
}

// WithSessionTrustedOrigins lets other origins post to the handlers; by
// default only same-origin requests may (CSRF defence).
func WithSessionTrustedOrigins(origins ...string) SessionOption {
	return func(x *Sessions) error {
		for _, o := range origins {
			if err := x.crossOrigin.AddTrustedOrigin(o); err != nil {
				return err
			}
		}
		return nil
	}
}

// NewSessions returns session handlers that sign with iss.
func NewSessions(iss *Issuer, opts ...SessionOption) (*Sessions, error) {
	s := &Sessions{
		iss:         iss,
		authPath:    "/auth",
		idle:        24 * time.Hour,
		absolute:    7 * 24 * time.Hour,
		grace:       10 * time.Second,
		log:         slog.New(slog.DiscardHandler),
		now:         iss.now,
		crossOrigin: http.NewCrossOriginProtection(),
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	if s.store == nil {
		s.store = NewMemoryStore(s.now)
	}
	if s.revocations == nil {
		s.revocations = LocalRevocations(jwtguard.NewRevocationList(s.now))
	}
	s.access = jwtguard.NewTokenCookie("access_token", s.cookieOptions...)
	s.refresh = jwtguard.NewTokenCookie("refresh_token", append([]jwtguard.CookieOption{jwtguard.WithCookiePath(s.authPath), jwtguard.WithSameSiteStrict()}, s.cookieOptions...)...)
	// Path=/ whatever the options say: only that earns the "__Host-" prefix.
	s.binding = jwtguard.NewTokenCookie("session_binding", append(slices.Clone(s.cookieOptions), jwtguard.WithCookiePath("/"), jwtguard.WithSameSiteStrict())...)
	return s, nil
}

// AccessCookie is the cookie holding the access token: give its Source to
// the guard (jwtguard.WithExtractors(s.AccessCookie().Extractor())).
func (s *Sessions) AccessCookie() jwtguard.TokenCookie { return s.access }

// RefreshCookie is the cookie holding the refresh token.
func (s *Sessions) RefreshCookie() jwtguard.TokenCookie { return s.refresh }

// BindingCookie is the cookie that binds the refresh token to the browser
// ("__Host-session_binding"; see [Sessions]). It is set and cleared with the
// refresh cookie; a refresh without it is refused.
func (s *Sessions) BindingCookie() jwtguard.TokenCookie { return s.binding }

// Validator refuses access tokens whose session was revoked (logout or
// refresh-token reuse) even before they expire: pass it to
// jwtguard.WithValidator.
//
// Deprecated: pass [Sessions.Revoker] to jwtguard.WithRevocations instead.
// It answers from memory, and also knows subjects signed out everywhere;
// Validator asks the store on every request, a network round trip with a
// shared store. Validator keeps working: it reads the families the store
// marks revoked. It reads sid as the guard's own strict parser
// does ([jwtguard.Claims.SessionID]); a token without one is not a session
// token and passes. It fails closed: when the store cannot answer, the
// request is refused with 503 and Retry-After rather than let through.
func (s *Sessions) Validator() func(context.Context, *jwtguard.Claims) error {
	return func(ctx context.Context, c *jwtguard.Claims) error {
		sid := c.SessionID()
		if sid == "" {
			return nil
		}
		revoked, err := s.store.FamilyRevoked(ctx, sid)
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "issuer: session store unavailable", slog.String("error", err.Error()))
			return &jwtguard.Error{Status: http.StatusServiceUnavailable, Description: "session check unavailable",
				RetryAfter: storeRetryAfter, Err: jwtguard.ErrRejected}
		}
		if revoked {
			return errors.New("session revoked")
		}
		return nil
	}
}

// LoginHandler authenticates with check (which returns the subject and any
// extra claims, or ErrInvalidCredentials) and starts a session. Before the
// check it consults the login throttle, if any ([WithLoginThrottle]); after
// a successful one it ends the session the browser already had (revokes
// the family of its refresh cookie and of its verified access token), so no
// stale session outlives a new login. The exception is a session bound to
// a DPoP key when the new login has no proof by that key: its refresh
// token is stored under the key's thumbprint, so it cannot be found, and
// its access tokens live until they expire (the refresh cookie is
// replaced, so the family cannot be refreshed). POST only.
func (s *Sessions) LoginHandler(check func(r *http.Request) (subject string, claims map[string]any, err error)) http.Handler {
	return s.post(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if s.throttle != nil {
			if ok, wait := s.throttle(r); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
				writeJSONError(w, http.StatusTooManyRequests, "too_many_requests")
				return
			}
		}
		jkt, ok := s.proofKey(w, r) // before the credentials: a nonce retry costs no check
		if !ok {
			return
		}
		subject, claims, err := check(r)
		if err != nil || subject == "" {
			status := http.StatusUnauthorized
			if err != nil && !errors.Is(err, ErrInvalidCredentials) {
				status = http.StatusInternalServerError
			}
			writeJSONError(w, status, "invalid_credentials")
			return
		}
		if err := checkExtra(claims); err != nil { // before anything is revoked
			s.log.LogAttrs(r.Context(), slog.LevelError, "issuer: login claims refused", slog.String("error", err.Error()))
			writeJSONError(w, http.StatusInternalServerError, "server_error")
			return
		}
		if _, err := s.endSession(r, jkt); err != nil {
			s.storeFailed(w, r, err)
			return
		}
		family, err := randomToken(16)
		if err != nil {
			writeJSONError(w, http.StatusInternalServerError, "server_error")
			return
		}
		binding, err := randomToken(bindingBytes)
		if err != nil {
			writeJSONError(w, http.StatusInternalServerError, "server_error")
			return
		}
		now := s.now()
		t, err := s.startSession(w, r, RefreshRecord{Family: family, Subject: subject, Claims: claims,
			FamilyExpiry: now.Add(s.absolute)}, binding, jkt)
		if err != nil {
			s.storeFailed(w, r, err)
			return
		}
		s.started(w, r, t)
	})
}

// RefreshHandler exchanges the refresh cookie for a new access token and a
// new refresh token; see [Sessions] for when a reused token revokes its
// family instead. Of several refresh cookies (cookie tossing) it uses the
// one issued with the browser's binding cookie. A refusal clears the
// session's cookies with 401 invalid_grant, except when the request carries
// two binding cookies or more than a few refresh cookies: cookie tossing,
// where clearing the host's own cookies would leave only the planted ones,
// so it leaves every cookie as it is. A store that does not answer gets 503
// and leaves them too, so a retry can succeed. POST only.
func (s *Sessions) RefreshHandler() http.Handler {
	return s.post(func(w http.ResponseWriter, r *http.Request) {
		jkt, ok := s.proofKey(w, r)
		if !ok {
			return
		}
		rec, binding, err := s.spend(r, jkt)
		if errors.Is(err, errTossed) {
			writeJSONError(w, http.StatusUnauthorized, "invalid_grant")
			return
		}
		if errors.Is(err, errRefresh) {
			s.clearCookies(w)
			writeJSONError(w, http.StatusUnauthorized, "invalid_grant")
			return
		}
		if err != nil {
			s.storeFailed(w, r, err)
			return
		}
		t, err := s.startSession(w, r, rec, binding, jkt)
		if err != nil {
			s.storeFailed(w, r, err)
			return
		}
		s.started(w, r, t)
	})
}

// LogoutHandler ends the session and clears its cookies. It revokes the
// family of the refresh cookie and that of the access cookie's sid, so
// logout works even when the refresh cookie is gone, and copies of either
// token stop working too (through [Sessions.Revoker]). The sid counts only if
// the access token verifies with this issuer's keys: an unverified one could
// name anyone's session. Cookie tossing as [Sessions.RefreshHandler] sees it
// gets 401 invalid_grant, after the access token's session was revoked, and
// leaves the cookies. POST only.
func (s *Sessions) LogoutHandler() http.Handler {
	return s.post(func(w http.ResponseWriter, r *http.Request) {
		jkt, ok := s.proofKey(w, r)
		if !ok {
			return
		}
		tossed, err := s.endSession(r, jkt)
		if !tossed {
			s.clearCookies(w)
		}
		switch {
		case err != nil:
			s.storeFailed(w, r, err)
		case tossed:
			writeJSONError(w, http.StatusUnauthorized, "invalid_grant")
		default:
			s.done(w, r, s.afterLogout)
		}
	})
}

// clearCookies deletes the session's cookies in the browser.
func (s *Sessions) clearCookies(w http.ResponseWriter) {
	s.access.Clear(w)
	s.refresh.Clear(w)
	s.binding.Clear(w)
}

// endSession revokes the session the browser of r holds: the family of its
// refresh cookie, and the sid of its access cookie if that token verifies.
// tossed reports cookie tossing (see [Sessions.refreshCookies]): no refresh
// cookie is used then. jkt is the thumbprint of the request's DPoP key, if
// it has a proof: a bound session's refresh token is found only with it.
func (s *Sessions) endSession(r *http.Request, jkt string) (tossed bool, err error) {
	var families []string
	rec, _, err := s.useRefresh(r, s.now(), jkt)
	tossed = errors.Is(err, errTossed)
	switch {
	case err == nil:
		families = append(families, rec.Family)
	case !errors.Is(err, errRefresh): // errTossed is one too
		return false, err
	}
	// Revocations are written even if the client goes away meanwhile.
	ctx, cancel := detach(r.Context())
	defer cancel()
	if cs := r.CookiesNamed(s.access.Name()); len(cs) == 1 {
		if c, ok := s.iss.verifyOwn(cs[0].Value); ok && c.SessionID() != "" && !slices.Contains(families, c.SessionID()) {
			families = append(families, c.SessionID())
		}
	}
	for _, f := range families {
		if err := s.store.RevokeFamily(ctx, f); err != nil {
			return tossed, err
		}
		if err := s.revokeSession(ctx, f); err != nil {
			return tossed, err
		}
	}
	return tossed, nil
}

// errTossed is a refusal for cookie tossing: two binding cookies, or more
// refresh cookies than a browser of its own accord holds.
var errTossed = fmt.Errorf("%w: cookie tossing", errRefresh)

// maxRefreshCookies is how many refresh cookies a request may carry: the
// browser's own and planted ones (cookie tossing), each tried with the
// binding. More are refused, so a request costs a few store calls at most.
const maxRefreshCookies = 4

// refreshCookies returns the request's binding and its refresh tokens,
// leaving out values not shaped like one. No binding (or one not shaped
// like one) is errRefresh; two or more binding cookies, or more than
// maxRefreshCookies refresh cookies, are errTossed.
func (s *Sessions) refreshCookies(r *http.Request) (binding string, tokens []string, err error) {
	bs := r.CookiesNamed(s.binding.Name())
	if len(bs) > 1 {
		return "", nil, errTossed
	}
	cs := r.CookiesNamed(s.refresh.Name())
	if len(cs) > maxRefreshCookies {
		return "", nil, errTossed
	}
	if len(bs) == 0 || !shaped(bs[0].Value, bindingBytes) {
		return "", nil, errRefresh
	}
	for _, c := range cs {
		if shaped(c.Value, refreshTokenBytes) {
			tokens = append(tokens, c.Value)
		}
	}
	return bs[0].Value, tokens, nil
}

// shaped reports whether v is the unpadded base64url of n bytes.
func shaped(v string, n int) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	return err == nil && len(b) == n
}

// useRefresh calls Store.Use for the request's refresh token issued with
// its binding: the first of its refresh cookies the store knows under the
// binding. A planted one is unknown there: its hash was made with the
// planter's binding. With jkt (the request's DPoP key) a token bound to
// that key is looked for first, then an unbound one; without, an unbound
// one only, so a bound token is unknown to a request without its key. It
// returns the record as Use does and the binding; errRefresh when no
// cookie is known, errTossed, or the store's error.
func (s *Sessions) useRefresh(r *http.Request, now time.Time, jkt string) (RefreshRecord, string, error) {
	binding, tokens, err := s.refreshCookies(r)
	if err != nil {
		return RefreshRecord{}, "", err
	}
	keys := []string{""}
	if jkt != "" {
		keys = []string{jkt, ""}
	}
	for _, token := range tokens {
		for _, key := range keys {
			rec, err := s.store.Use(r.Context(), hashToken(binding, token, key), now)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return RefreshRecord{}, "", err
			}
			return rec, binding, nil
		}
	}
	return RefreshRecord{}, "", errRefresh
}

// revokeTimeout bounds the writes that carry out a decision already taken
// (revoking a family), which run on even if the client goes away.
const revokeTimeout = 10 * time.Second

// detach returns a context for writes that must not be cut short by the
// client going away: a reuse detected but not recorded would let the same
// token be tried again as a grace exchange.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
}

// spend uses up the refresh token of r and returns the record to continue
// the session from, its Generation set to the successor's, and the
// browser's binding. jkt is the request's DPoP key, "" without a proof. It
// returns errRefresh (or errTossed) for every refusal, or the store's error.
func (s *Sessions) spend(r *http.Request, jkt string) (RefreshRecord, string, error) {
	now := s.now()
	rec, binding, err := s.useRefresh(r, now, jkt)
	if err != nil {
		return RefreshRecord{}, "", err
	}
	if rec.FamilyRevoked {
		return RefreshRecord{}, "", errRefresh
	}
	next := rec.Generation + 1
	if spent := !rec.UsedAt.IsZero() || rec.Generation < rec.FamilyHead; spent {
		inGrace := !rec.UsedAt.IsZero() && rec.Reuses < graceReuses && s.grace > 0 && now.Sub(rec.UsedAt) < s.grace
		if !inGrace {
			// A copy of a spent token: whoever holds the family's live
			// token may be the thief, so the whole family goes.
			ctx, cancel := detach(r.Context())
			defer cancel()
			if err := s.store.RevokeFamily(ctx, rec.Family); err != nil {
				return RefreshRecord{}, "", err
			}
			if err := s.revokeSession(ctx, rec.Family); err != nil {
				return RefreshRecord{}, "", err
			}
			s.log.LogAttrs(r.Context(), slog.LevelWarn, "issuer: refresh token reuse; session revoked",
				slog.String("subject", rec.Subject))
			return RefreshRecord{}, "", errRefresh
		}
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "issuer: refresh token reused within the grace window",
			slog.String("subject", rec.Subject))
		next = max(next, rec.FamilyHead) // a sibling of the newest, never stale on arrival
	}
	if !now.Before(rec.IdleExpiry) || !now.Before(rec.FamilyExpiry) {
		return RefreshRecord{}, "", errRefresh
	}
	if err := s.familyRevoked(rec); errors.Is(err, jwtguard.ErrRevoked) {
		// Revoked elsewhere (a subject signed out everywhere, a session
		// ended on another instance): end the family in the store too.
		ctx, cancel := detach(r.Context())
		defer cancel()
		if err := s.store.RevokeFamily(ctx, rec.Family); err != nil {
			return RefreshRecord{}, "", err
		}
		return RefreshRecord{}, "", errRefresh
	} else if err != nil {
		return RefreshRecord{}, "", err
	}
	rec.Generation = next
	return rec, binding, nil
}

// startSession issues an access token, expiring at the latest with the
// family, and a fresh refresh token of rec's family and generation bound to
// binding, and sets the cookies. With jkt (the request's DPoP key) both are
// bound to the key too: the access token by cnf.jkt, returned for the
// response body instead of set as the access cookie, the refresh token by
// its hash.
func (s *Sessions) startSession(w http.ResponseWriter, r *http.Request, rec RefreshRecord, binding, jkt string) (Token, error) {
	t, err := s.iss.token(rec.Subject, rec.Claims, rec.Family, rec.FamilyExpiry, jkt)
	if err != nil {
		return Token{}, err
	}
	refresh, err := randomToken(refreshTokenBytes)
	if err != nil {
		return Token{}, err
	}
	now := s.now()
	rec.Hash = hashToken(binding, refresh, jkt)
	rec.IdleExpiry = minTime(now.Add(s.idle), rec.FamilyExpiry)
	rec.UsedAt, rec.Reuses, rec.FamilyHead, rec.FamilyRevoked = time.Time{}, 0, 0, false
	if err := s.store.Create(r.Context(), rec); err != nil {
		return Token{}, err
	}
	// Cookies count down on the wall clock; the lifetimes come from ours.
	if jkt == "" {
		s.access.Set(w, t.AccessToken, time.Now().Add(t.ExpiresAt.Sub(now)))
	} else {
		s.access.Clear(w) // a bound token in a cookie would be refused anyway
	}
	s.refresh.Set(w, refresh, time.Now().Add(rec.IdleExpiry.Sub(now)))
	s.binding.Set(w, binding, time.Now().Add(rec.IdleExpiry.Sub(now)))
	return t, nil
}

// started answers a login or refresh: a DPoP-bound session gets its access
// token as JSON, a cookie session 204 or a redirect (see done).
func (s *Sessions) started(w http.ResponseWriter, r *http.Request, t Token) {
	if t.KeyThumbprint != "" {
		s.iss.writeToken(w, t)
		return
	}
	s.done(w, r, s.afterLogin)
}

// storeFailed answers a request the store (or signing) could not serve:
// 503 with Retry-After, cookies left as they are.
func (s *Sessions) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.log.LogAttrs(r.Context(), slog.LevelWarn, "issuer: session request failed", slog.String("error", err.Error()))
	w.Header().Set("Retry-After", strconv.Itoa(storeRetryAfter))
	writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable")
}

// post allows POST only and refuses cross-origin requests.
func (s *Sessions) post(h http.HandlerFunc) http.Handler {
	return s.crossOrigin.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	}))
}

func (s *Sessions) done(w http.ResponseWriter, r *http.Request, page string) {
	if page != "" && r.Header.Get("Sec-Fetch-Mode") == "navigate" {
		http.Redirect(w, r, page, http.StatusSeeOther)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeJSONError writes an OAuth error response (RFC 6749 §5.2), with an
// error_description when there is one (optional: at most one).
func writeJSONError(w http.ResponseWriter, status int, code string, description ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := map[string]string{"error": code}
	if len(description) > 0 && description[0] != "" {
		body["error_description"] = description[0]
	}
	_ = json.NewEncoder(w).Encode(body)
}

// refreshTokenBytes is the size of a refresh token, bindingBytes that of a
// binding: 256 bits each.
const (
	refreshTokenBytes = 32
	bindingBytes      = 32
)

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashToken is what a store knows a refresh token by: the SHA-256 of the
// browser's binding and the token, and of the thumbprint of the DPoP key
// the session is bound to, if any ('.' is in none of them).
func hashToken(binding, token, jkt string) [32]byte {
	if jkt == "" {
		return sha256.Sum256([]byte(binding + "." + token))
	}
	return sha256.Sum256([]byte(binding + "." + token + "." + jkt))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
