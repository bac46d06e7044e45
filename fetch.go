package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jwtguard/jwtguard/internal/jose"
)

// fetchConfig is how key sets and discovery documents are fetched: one
// value shared by the key sources of a guard (or by a shared KeySet).
type fetchConfig struct {
	client    *http.Client // made safe by safeClient
	settings  KeySetSettings
	allowHTTP bool
	now       func() time.Time
	log       *slog.Logger
	onError   func(url string, err error)
	obs       *Observer // nil: none
}

// KeySetSettings tune a fetched JWKS. The zero value of a field means its default.
type KeySetSettings struct {
	// MinRefresh and MaxRefresh clamp the lifetime the server announces with
	// Cache-Control max-age or Expires. Defaults: 1 minute and 24 hours.
	MinRefresh, MaxRefresh time.Duration
	// DefaultRefresh applies when the server announces no lifetime. Default: 15 minutes.
	DefaultRefresh time.Duration
	// UnknownKIDCooldown is the least time between two fetches caused by
	// tokens with an unknown kid. Default: 30 seconds.
	UnknownKIDCooldown time.Duration
	// StaleFor is how long the last good keys keep serving while refreshes
	// fail. After it, requests get 503. Default: 24 hours.
	StaleFor time.Duration
	// FetchTimeout bounds one fetch, and so how long a request may wait for
	// one. Default: 5 seconds.
	FetchTimeout time.Duration
	// MaxBackoff caps the retry interval after failures. Default: 5 minutes.
	MaxBackoff time.Duration
}

func (c *KeySetSettings) fill() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.MinRefresh, time.Minute)
	def(&c.MaxRefresh, 24*time.Hour)
	def(&c.DefaultRefresh, 15*time.Minute)
	def(&c.UnknownKIDCooldown, 30*time.Second)
	def(&c.StaleFor, 24*time.Hour)
	def(&c.FetchTimeout, 5*time.Second)
	def(&c.MaxBackoff, 5*time.Minute)
	if c.MaxRefresh < c.MinRefresh {
		c.MaxRefresh = c.MinRefresh
	}
}

// checkKeyURL requires https, except for loopback hosts (tests, sidecars)
// or when plain http was allowed with a loudly named option.
func checkKeyURL(raw string, allowHTTP bool) error {
	if raw == "" {
		return errors.New("empty URL (an unset environment variable?)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	if err := asciiHost(u.Hostname()); err != nil {
		return fmt.Errorf("%q: %v", raw, err)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (allowHTTP || isLoopback(u.Hostname())):
	default:
		return fmt.Errorf("%q must use https (InsecureAllowHTTPKeys allows http)", raw)
	}
	return nil
}

// asciiHost refuses a host name with non-ASCII letters. net/http dials its
// IDNA (xn--) form, which the connect-time check of discovered key URLs
// would take for a proxy's name, and so not judge: hosts must be given in
// that form.
func asciiHost(host string) error {
	for i := 0; i < len(host); i++ {
		if host[i] >= utf8.RuneSelf {
			return fmt.Errorf("host %q is not ASCII: give its IDNA form (xn--…)", host)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// safeClient copies c (or a default client) and limits redirects to the
// origin of the first request, so a key host cannot bounce us elsewhere.
func safeClient(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	if out.Transport == nil {
		out.Transport = http.DefaultTransport
	}
	// The connect-time check of discovered key URLs needs the dialer; a
	// custom RoundTripper keeps its own (the URL checks still apply).
	if t, ok := out.Transport.(*http.Transport); ok && t != nil {
		t = t.Clone()
		// net/http prefers the Context dialers to the deprecated Dial and
		// DialTLS: carry an application's deprecated ones over, so they
		// are used (an egress policy, a tunnel) and checked like the others.
		if t.DialContext == nil && t.Dial != nil {
			dial := t.Dial
			t.DialContext = func(_ context.Context, network, addr string) (net.Conn, error) { return dial(network, addr) }
		}
		if t.DialTLSContext == nil && t.DialTLS != nil {
			dial := t.DialTLS
			t.DialTLSContext = func(_ context.Context, network, addr string) (net.Conn, error) { return dial(network, addr) }
		}
		t.Dial, t.DialTLS = nil, nil
		dial := t.DialContext
		if dial == nil {
			dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		}
		t.DialContext = checkedDial(dial)
		if t.DialTLSContext != nil {
			t.DialTLSContext = checkedDial(t.DialTLSContext)
		}
		out.Transport = t
	}
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		if origin := via[0].URL; req.URL.Scheme != origin.Scheme || req.URL.Host != origin.Host {
			return fmt.Errorf("redirect to another origin (%s) refused", req.URL.Scheme+"://"+req.URL.Host)
		}
		return nil
	}
	return &out
}

// permanentError marks a fetch failure that retrying soon will not cure:
// the server answered, but wrongly (4xx, not a key set, wrong issuer).
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }

func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// callHook runs a user's callback on a library goroutine: a panic in it is
// logged, not allowed to take the process down.
func callHook(log *slog.Logger, f func()) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("jwtguard: callback panicked", slog.Any("panic", r))
		}
	}()
	f()
}

// fetchError keeps a transport error short and free of query strings.
func fetchError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("timed out")
	}
	return err
}

// getDocument GETs a small JSON document: status 200 only, at most 1 MiB.
func getDocument(ctx context.Context, client *http.Client, u, accept string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fetchError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := httpStatusError{resp.StatusCode}
		switch code := resp.StatusCode; {
		case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests, code >= 500:
			return nil, nil, err
		}
		return nil, nil, permanent(err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jose.MaxDocumentBytes+1))
	if err != nil {
		return nil, nil, fetchError(err)
	}
	if len(body) > jose.MaxDocumentBytes {
		return nil, nil, permanent(fmt.Errorf("document larger than %d bytes", jose.MaxDocumentBytes))
	}
	return body, resp.Header, nil
}

// lifetime reads Cache-Control max-age (or Expires) and clamps it.
func lifetime(h http.Header, now time.Time, settings KeySetSettings) time.Duration {
	d := settings.DefaultRefresh
	found := false
	for _, v := range h.Values("Cache-Control") {
		for _, part := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch strings.ToLower(name) {
			case "max-age":
				if n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64); err == nil && n >= 0 {
					d, found = time.Duration(min(n, 1<<32))*time.Second, true
				}
			case "no-cache", "no-store":
				d, found = 0, true
			}
		}
	}
	if !found {
		if t, err := http.ParseTime(h.Get("Expires")); err == nil {
			d = t.Sub(now)
		}
	}
	return min(max(d, settings.MinRefresh), settings.MaxRefresh)
}
