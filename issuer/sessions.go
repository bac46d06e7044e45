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
	"net/http"
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
// an HttpOnly cookie scoped to the auth endpoints. Re-use of a spent refresh
// token revokes its whole family (RFC 9700 §4.14.2). Safe for concurrent use.
type Sessions struct {
	iss           *Issuer
	store         Store
	access        jwtguard.TokenCookie
	refresh       jwtguard.TokenCookie
	authPath      string
	idle          time.Duration
	absolute      time.Duration
	afterLogin    string
	afterLogout   string
	log           *slog.Logger
	now           func() time.Time
	crossOrigin   *http.CrossOriginProtection
	cookieOptions []jwtguard.CookieOption
}

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

// WithSessionLogger logs refresh-token reuse at Warn. Default: silent.
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
	s.access = jwtguard.NewTokenCookie("access_token", s.cookieOptions...)
	s.refresh = jwtguard.NewTokenCookie("refresh_token", append([]jwtguard.CookieOption{jwtguard.WithCookiePath(s.authPath), jwtguard.WithSameSiteStrict()}, s.cookieOptions...)...)
	return s, nil
}

// AccessCookie is the cookie holding the access token: give its Source to
// the guard (jwtguard.WithTokenSources(s.AccessCookie().Source())).
func (s *Sessions) AccessCookie() jwtguard.TokenCookie { return s.access }

// RefreshCookie is the cookie holding the refresh token.
func (s *Sessions) RefreshCookie() jwtguard.TokenCookie { return s.refresh }

// Validator refuses access tokens whose session was revoked (logout or
// refresh-token reuse) even before they expire: pass it to
// jwtguard.WithValidator.
func (s *Sessions) Validator() func(context.Context, *jwtguard.Claims) error {
	return func(ctx context.Context, c *jwtguard.Claims) error {
		var v struct {
			SID string `json:"sid"`
		}
		if err := c.Decode(&v); err != nil || v.SID == "" {
			return nil // not a session token; other checks apply
		}
		revoked, err := s.store.FamilyRevoked(ctx, v.SID)
		if err != nil {
			return fmt.Errorf("session store: %w", err)
		}
		if revoked {
			return errors.New("session revoked")
		}
		return nil
	}
}

// LoginHandler authenticates with check (which returns the subject and any
// extra claims, or ErrInvalidCredentials) and starts a session. POST only.
func (s *Sessions) LoginHandler(check func(r *http.Request) (subject string, claims map[string]any, err error)) http.Handler {
	return s.post(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		subject, claims, err := check(r)
		if err != nil || subject == "" {
			status := http.StatusUnauthorized
			if err != nil && !errors.Is(err, ErrInvalidCredentials) {
				status = http.StatusInternalServerError
			}
			writeJSONError(w, status, "invalid_credentials")
			return
		}
		family, err := randomToken(16)
		if err != nil {
			writeJSONError(w, http.StatusInternalServerError, "server_error")
			return
		}
		now := s.now()
		if err := s.startSession(w, r, RefreshRecord{Family: family, Subject: subject, Claims: claims,
			FamilyExpiry: now.Add(s.absolute)}); err != nil {
			writeJSONError(w, http.StatusInternalServerError, "server_error")
			return
		}
		s.done(w, r, s.afterLogin)
	})
}

// RefreshHandler exchanges the refresh cookie for a new access token and a
// new refresh token. A spent token revokes its family. POST only.
func (s *Sessions) RefreshHandler() http.Handler {
	return s.post(func(w http.ResponseWriter, r *http.Request) {
		rec, err := s.spend(r)
		if err != nil {
			s.access.Clear(w)
			s.refresh.Clear(w)
			writeJSONError(w, http.StatusUnauthorized, "invalid_grant")
			return
		}
		if err := s.startSession(w, r, RefreshRecord{Family: rec.Family, Subject: rec.Subject, Claims: rec.Claims,
			FamilyExpiry: rec.FamilyExpiry}); err != nil {
			writeJSONError(w, http.StatusInternalServerError, "server_error")
			return
		}
		s.done(w, r, s.afterLogin)
	})
}

// LogoutHandler ends the session: it revokes the refresh token's family
// (so its access tokens stop working too, with [Sessions.Validator]) and
// clears both cookies. POST only.
func (s *Sessions) LogoutHandler() http.Handler {
	return s.post(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(s.refresh.Name()); err == nil && c.Value != "" {
			if rec, err := s.store.Use(r.Context(), hashToken(c.Value)); err == nil {
				_ = s.store.RevokeFamily(r.Context(), rec.Family)
			}
		}
		s.access.Clear(w)
		s.refresh.Clear(w)
		s.done(w, r, s.afterLogout)
	})
}

// spend validates and uses up the refresh token of r.
func (s *Sessions) spend(r *http.Request) (RefreshRecord, error) {
	c, err := r.Cookie(s.refresh.Name())
	if err != nil || c.Value == "" {
		return RefreshRecord{}, errRefresh
	}
	rec, err := s.store.Use(r.Context(), hashToken(c.Value))
	if err != nil {
		return RefreshRecord{}, errRefresh
	}
	now := s.now()
	switch {
	case rec.FamilyRevoked:
		return RefreshRecord{}, errRefresh
	case rec.Used:
		// A spent token came back: it was copied. Whoever holds the family's
		// live token may be the thief, so the whole family goes.
		_ = s.store.RevokeFamily(r.Context(), rec.Family)
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "issuer: refresh token reuse; session revoked",
			slog.String("subject", rec.Subject))
		return RefreshRecord{}, errRefresh
	case !now.Before(rec.IdleExpiry), !now.Before(rec.FamilyExpiry):
		return RefreshRecord{}, errRefresh
	}
	return rec, nil
}

// startSession issues an access token and a fresh refresh token of rec's
// family and sets both cookies.
func (s *Sessions) startSession(w http.ResponseWriter, r *http.Request, rec RefreshRecord) error {
	claims := make(map[string]any, len(rec.Claims)+1)
	for k, v := range rec.Claims {
		claims[k] = v
	}
	claims["sid"] = rec.Family
	token, exp, err := s.iss.Issue(rec.Subject, claims)
	if err != nil {
		return err
	}
	refresh, err := randomToken(32) // 256 bits
	if err != nil {
		return err
	}
	rec.Hash = hashToken(refresh)
	rec.IdleExpiry = minTime(s.now().Add(s.idle), rec.FamilyExpiry)
	rec.Used, rec.FamilyRevoked = false, false
	if err := s.store.Create(r.Context(), rec); err != nil {
		return err
	}
	// Cookies count down on the wall clock; the lifetimes come from ours.
	now := s.now()
	s.access.Set(w, token, time.Now().Add(exp.Sub(now)))
	s.refresh.Set(w, refresh, time.Now().Add(rec.IdleExpiry.Sub(now)))
	return nil
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

func writeJSONError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashToken(t string) [32]byte { return sha256.Sum256([]byte(t)) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
