package jwtguard_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func TestTokenCookieAttributes(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(5 * time.Minute)
	tests := []struct {
		name   string
		cookie jwtguard.TokenCookie
		want   []string // substrings of Set-Cookie
		absent []string
	}{
		{"defaults", jwtguard.NewTokenCookie("at"),
			[]string{"__Host-at=tok", "Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age="}, []string{"Domain", "Expires=Thu, 01 Jan 1970"}},
		{"strict", jwtguard.NewTokenCookie("at", jwtguard.WithSameSiteStrict()),
			[]string{"__Host-at=", "SameSite=Strict", "HttpOnly", "Secure"}, nil},
		{"scoped path", jwtguard.NewTokenCookie("rt", jwtguard.WithCookiePath("/auth/refresh")),
			[]string{"__Secure-rt=", "Path=/auth/refresh", "HttpOnly", "Secure"}, []string{"__Host-"}},
		{"insecure for local http", jwtguard.NewTokenCookie("at", jwtguard.InsecureCookieWithoutSecure()),
			[]string{"at=tok", "HttpOnly", "SameSite=Lax"}, []string{"Secure", "__Host-"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			// Max-Age is the token's remaining time when Set ran: between the
			// remaining times read just before and just after (a loaded
			// machine may take seconds to get here).
			most := int(time.Until(exp).Seconds()) + 1
			tc.cookie.Set(w, "tok", exp)
			least := int(time.Until(exp).Seconds()) - 1
			got := w.Header().Get("Set-Cookie")
			if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge < least || c[0].MaxAge > most {
				t.Errorf("Set-Cookie %q: Max-Age should be the token's remaining time, %d-%d s", got, least, most)
			}
			for _, s := range tc.want {
				if !strings.Contains(got, s) {
					t.Errorf("Set-Cookie %q lacks %q", got, s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(got, s) {
					t.Errorf("Set-Cookie %q has %q", got, s)
				}
			}
			w = httptest.NewRecorder()
			tc.cookie.Clear(w)
			if got := w.Header().Get("Set-Cookie"); !strings.Contains(got, "Max-Age=0") || !strings.HasPrefix(got, tc.cookie.Name()+"=;") {
				t.Errorf("Clear: Set-Cookie %q", got)
			}
			w = httptest.NewRecorder()
			tc.cookie.Set(w, "tok", time.Now().Add(-time.Second))
			if got := w.Header().Get("Set-Cookie"); !strings.Contains(got, "Max-Age=0") {
				t.Errorf("expired token: Set-Cookie %q, want a clearing cookie", got)
			}
		})
	}
}

// TestCSRFMatrix: a cookie-borne token on an unsafe method must come from
// the same origin; header-borne tokens and safe methods are exempt.
func TestCSRFMatrix(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	cookie := jwtguard.NewTokenCookie("at")
	g := newGuard(t, iss, jwtguard.WithExtractors(jwtguard.FromAuthorizationHeader(), cookie.Extractor()),
		jwtguard.WithTrustedOrigins("https://admin.example.com"))
	token := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience})
	h := g.Handler(protected)

	type fetch struct{ site, origin string } // "" means the header is absent
	fetches := map[string]fetch{
		"same-origin":               {"same-origin", "https://api.example.com"},
		"user typed (none)":         {"none", ""},
		"same-site":                 {"same-site", "https://evil.example.com"},
		"cross-site":                {"cross-site", "https://evil.test"},
		"trusted origin":            {"cross-site", "https://admin.example.com"},
		"old browser, same Origin":  {"", "https://api.example.com"},
		"old browser, cross Origin": {"", "https://evil.test"},
		"no browser headers":        {"", ""},
	}
	allowedUnsafe := map[string]bool{"same-origin": true, "user typed (none)": true, "trusted origin": true,
		"old browser, same Origin": true, "no browser headers": true}
	for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		for _, source := range []string{"header", "cookie"} {
			for fname, f := range fetches {
				t.Run(method+"/"+source+"/"+fname, func(t *testing.T) {
					t.Parallel()
					r := httptest.NewRequest(method, "https://api.example.com/orders", nil)
					if source == "header" {
						r.Header.Set("Authorization", "Bearer "+token)
					} else {
						r.AddCookie(&http.Cookie{Name: cookie.Name(), Value: token})
					}
					if f.site != "" {
						r.Header.Set("Sec-Fetch-Site", f.site)
					}
					if f.origin != "" {
						r.Header.Set("Origin", f.origin)
					}
					want := 200
					safe := method == "GET" || method == "HEAD"
					if source == "cookie" && !safe && !allowedUnsafe[fname] {
						want = 403
					}
					if w := serve(h, r); w.Code != want {
						t.Fatalf("status %d, want %d (%s)", w.Code, want, w.Body)
					}
				})
			}
		}
	}
}
