package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/redis/redistest"
)

// TestTwoInstancesOneLogin runs two demo instances on two ports with one
// Redis, as the README shows: a login on A is a login on B (cookies do not
// depend on the port), a refresh on B continues it, and a logout on B ends
// it on A.
func TestTwoInstancesOneLogin(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithCancel(t.Context())
	var bases []string
	done := make(chan error, 2)
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- run(ctx, ln, io.Discard, srv.Client(), "jwtguard-demo") }()
		bases = append(bases, "http://"+ln.Addr().String())
	}
	defer func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}()
	a, b := bases[0], bases[1]
	for _, base := range bases {
		eventually(t, 10*time.Second, base+" healthy", func() bool { return get(t, base+"/healthz", nil).StatusCode == 200 })
	}

	cookies := map[string]string{}
	resp := post(t, a+"/auth/login", cookies, url.Values{"username": {"alice"}, "password": {"wonderland"}})
	if resp.StatusCode != 204 || cookies["__Host-access_token"] == "" || cookies["__Secure-refresh_token"] == "" {
		t.Fatalf("login on a: %d, cookies %v", resp.StatusCode, cookies)
	}
	if resp := get(t, b+"/app", cookies); resp.StatusCode != 200 || !strings.Contains(body(resp), "Hello alice") {
		t.Fatalf("the page on b with a's login: %d", resp.StatusCode)
	}
	if resp := post(t, b+"/auth/refresh", cookies, nil); resp.StatusCode != 204 {
		t.Fatalf("refresh on b: %d", resp.StatusCode)
	}
	if resp := get(t, a+"/app", cookies); resp.StatusCode != 200 {
		t.Fatalf("the page on a after the refresh on b: %d", resp.StatusCode)
	}
	saved := map[string]string{"__Host-access_token": cookies["__Host-access_token"]}
	if resp := post(t, b+"/auth/logout", cookies, nil); resp.StatusCode != 204 {
		t.Fatalf("logout on b: %d", resp.StatusCode)
	}
	eventually(t, 2*time.Second, "a's page refuses the logged-out session", func() bool { return get(t, a+"/app", saved).StatusCode == 401 })
	if h := body(get(t, a+"/healthz", nil)); !strings.Contains(h, `"fleet"`) || !strings.Contains(h, `"Fresh":true`) {
		t.Fatalf("healthz: %s", h)
	}
}

func request(t *testing.T, method, u string, cookies map[string]string, form url.Values) *http.Response {
	t.Helper()
	var r *http.Request
	var err error
	if form != nil {
		r, err = http.NewRequest(method, u, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r, err = http.NewRequest(method, u, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range cookies {
		r.AddCookie(&http.Cookie{Name: name, Value: v})
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	for _, c := range resp.Cookies() {
		if cookies == nil {
			break
		}
		if c.MaxAge < 0 || c.Value == "" {
			delete(cookies, c.Name)
		} else {
			cookies[c.Name] = c.Value
		}
	}
	return resp
}

func get(t *testing.T, u string, cookies map[string]string) *http.Response {
	return request(t, "GET", u, cookies, nil)
}

func post(t *testing.T, u string, cookies map[string]string, form url.Values) *http.Response {
	if form == nil {
		form = url.Values{}
	}
	return request(t, "POST", u, cookies, form)
}

func body(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func eventually(t *testing.T, within time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(5 * time.Millisecond) // polling for propagation
	}
}
