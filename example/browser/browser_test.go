// Package browser drives the demo in headless Chromium: the whole cookie
// session flow as a person would use it. It is a separate module so that
// chromedp never enters jwtguard's own go.mod.
package browser

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/jwtguard/jwtguard/example/internal/demo"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// findChromium looks for a Chromium binary: $CHROMIUM, then the usual names.
func findChromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// requireChromium returns the Chromium binary, or skips the test without
// one; under CI it fails instead.
func requireChromium(t *testing.T) string {
	t.Helper()
	chromium := findChromium()
	if chromium == "" {
		const why = "headless Chromium not found: install Debian's chromium package (make deps) to run the browser test"
		if os.Getenv("CI") != "" {
			t.Fatal("CI must not skip: " + why) // .ci/run installs it
		}
		t.Skip(why)
	}
	return chromium
}

// startChromium starts a headless Chromium with a fresh profile and returns
// a context for chromedp actions, ending after 90 seconds at the latest.
func startChromium(t *testing.T, ctx context.Context, chromium string) context.Context {
	t.Helper()
	// Not t.TempDir: Chromium's helpers may still write there as it exits,
	// which would fail the test's cleanup.
	profile, err := os.MkdirTemp("", "jwtguard-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) })
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
	)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	bctx, cancelTimeout := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	return bctx
}

func TestBrowserSession(t *testing.T) {
	chromium := requireChromium(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = demo.Run(ctx, ln, io.Discard) }()
	base := "http://" + ln.Addr().String()

	// A second origin on the same site (another port): a page whose button
	// posts a form to the API. SameSite=Lax cookies go along,
	// so only the guard's cross-origin check stands in the way.
	evil, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = http.Serve(evil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<!doctype html><h1>You won a prize!</h1>
<form method="post" action="%s/api/orders"><input type="hidden" name="item" value="x"><button id="go">Claim it</button></form>`, base)
		}))
	}()
	evilURL := "http://" + evil.Addr().String() + "/"

	bctx := startChromium(t, ctx, chromium)

	run := func(step string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	bodyText := func(step string) string {
		t.Helper()
		var s string
		run(step, chromedp.Evaluate(`document.body ? document.body.innerText : ""`, &s))
		return s
	}
	// submit runs actions that end in a page load and returns its status.
	submit := func(step string, actions ...chromedp.Action) int64 {
		t.Helper()
		resp, err := chromedp.RunResponse(bctx, actions...)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return resp.Status
	}
	navigate := func(step, url string) int64 {
		t.Helper()
		return submit(step, chromedp.Navigate(url))
	}
	cookies := func(step string) map[string]*network.Cookie {
		t.Helper()
		out := map[string]*network.Cookie{}
		run(step, chromedp.ActionFunc(func(ctx context.Context) error {
			list, err := network.GetCookies().WithURLs([]string{base + "/", base + "/auth/refresh"}).Do(ctx)
			for _, c := range list {
				out[c.Name] = c
			}
			return err
		}))
		return out
	}
	logIn := func(step string) {
		t.Helper()
		var hello string
		navigate(step, base+"/")
		run(step,
			chromedp.WaitVisible("#username", chromedp.ByID),
			chromedp.SendKeys("#username", demo.User, chromedp.ByID),
			chromedp.SendKeys("#password", demo.Password, chromedp.ByID),
		)
		if code := submit(step, chromedp.Click("#submit", chromedp.ByID)); code != 200 {
			t.Fatalf("%s: landed on status %d", step, code)
		}
		run(step, chromedp.Text("#hello", &hello, chromedp.ByID))
		if hello != "Hello alice" {
			t.Fatalf("%s: page says %q", step, hello)
		}
	}

	// 1. Log in through the form; the protected page shows the claims.
	logIn("log in")

	// 2. The tokens are out of reach of page scripts.
	var jsCookies string
	run("document.cookie", chromedp.Evaluate(`document.cookie`, &jsCookies))
	if jsCookies != "" {
		t.Fatalf("document.cookie = %q, want no readable cookie", jsCookies)
	}
	jar := cookies("cookies after login")
	access, refresh, binding := jar["__Host-access_token"], jar["__Secure-refresh_token"], jar["__Host-session_binding"]
	if access == nil || refresh == nil || binding == nil {
		t.Fatalf("cookies after login: %v", jar)
	}
	for _, c := range []*network.Cookie{access, refresh, binding} {
		if !c.HTTPOnly || !c.Secure || c.SameSite == "" || c.SameSite == network.CookieSameSiteNone {
			t.Fatalf("cookie %s: httpOnly=%v secure=%v sameSite=%q", c.Name, c.HTTPOnly, c.Secure, c.SameSite)
		}
	}
	if refresh.Path != "/auth" {
		t.Fatalf("refresh cookie path %q, want /auth", refresh.Path)
	}
	// The binding ties the refresh token to this browser: a sibling
	// subdomain cannot plant a "__Host-" cookie.
	if binding.Path != "/" || binding.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("binding cookie: path %q sameSite %q, want / and Strict", binding.Path, binding.SameSite)
	}

	// 3. The API works from the page, by cookie, for reads and same-origin writes.
	var status int
	run("fetch /api/me", chromedp.Evaluate(`fetch("/api/me").then(r => r.status)`, &status, awaitPromise))
	if status != 200 {
		t.Fatalf("fetch /api/me: %d", status)
	}
	run("fetch POST /api/orders", chromedp.Evaluate(`fetch("/api/orders", {method: "POST"}).then(r => r.status)`, &status, awaitPromise))
	if status != 201 {
		t.Fatalf("same-origin POST /api/orders: %d", status)
	}

	// 4. A form post from another origin is refused, although the cookie went along.
	navigate("evil page", evilURL)
	if code := submit("cross-origin form post", chromedp.Click("#go", chromedp.ByID)); code != 403 {
		t.Fatalf("cross-origin form post: status %d, want 403", code)
	}
	if got := bodyText("cross-origin response"); !strings.Contains(got, "cross-origin request refused") {
		t.Fatalf("cross-origin form post answered %q", got)
	}

	// 5. Refresh rotates the refresh token.
	navigate("app", base+"/app")
	if code := submit("refresh", chromedp.Click("#refresh", chromedp.ByID)); code != 200 {
		t.Fatalf("refresh: landed on status %d", code)
	}
	afterRefresh := cookies("cookies after refresh")
	rotated, liveAccess := afterRefresh["__Secure-refresh_token"], afterRefresh["__Host-access_token"]
	if rotated == nil || rotated.Value == refresh.Value || liveAccess == nil {
		t.Fatal("refresh did not rotate the refresh cookie")
	}
	restore := func(step string, c *network.Cookie) {
		t.Helper()
		run(step, chromedp.ActionFunc(func(ctx context.Context) error {
			return network.SetCookie(c.Name, c.Value).WithURL(base + c.Path).WithPath(c.Path).
				WithSecure(true).WithHTTPOnly(true).WithSameSite(c.SameSite).Do(ctx)
		}))
	}

	// 6. Re-using the spent refresh token kills the whole session. Within
	// the grace window (10 s after the rotation, for a second tab
	// refreshing at the same time) the spent token is exchanged once more;
	// any further use of it is a copy. So the first replay is 200 when
	// the steps above were quick, 401 when they took longer than the
	// window, and the second replay is 401 whatever the timing.
	replay := func(step string) int64 {
		t.Helper()
		restore(step, refresh)
		navigate(step+": app", base+"/app")
		return submit(step, chromedp.Click("#refresh", chromedp.ByID))
	}
	var graceAccess *network.Cookie // the session the first replay got, if any
	switch code := replay("first replay of the spent refresh token"); code {
	case 200:
		jar := cookies("cookies after the first replay")
		graceAccess = jar["__Host-access_token"]
		if c := jar["__Secure-refresh_token"]; c == nil || c.Value == refresh.Value || c.Value == rotated.Value || graceAccess == nil {
			t.Fatal("the replay within the grace window got no session of its own")
		}
	case 401:
		t.Log("first replay came after the grace window and was refused")
	default:
		t.Fatalf("first replay of the spent refresh token: status %d, want 200 (within the grace window) or 401", code)
	}
	if code := replay("second replay of the spent refresh token"); code != 401 {
		t.Fatalf("spent refresh token replayed again: status %d, want 401", code)
	}
	if got := bodyText("replayed refresh"); !strings.Contains(got, "invalid_grant") {
		t.Fatalf("replayed refresh token answered %q", got)
	}
	if code := navigate("app after replay", base+"/app"); code != 401 {
		t.Fatalf("protected page after refresh-token reuse: %d, want 401", code)
	}
	// The family is dead: its live tokens, put back, no longer work either.
	restore("put back the live access token", liveAccess)
	if code := navigate("app with the family's access token", base+"/app"); code != 401 {
		t.Fatalf("access token of the revoked family: %d, want 401", code)
	}
	if graceAccess != nil {
		restore("put back the access token of the grace exchange", graceAccess)
		if code := navigate("app with the grace exchange's access token", base+"/app"); code != 401 {
			t.Fatalf("access token from the grace exchange of the revoked family: %d, want 401", code)
		}
	}
	restore("put back the live refresh token", rotated)
	restore("put back the binding", binding) // cleared by the refusals: without it any refresh is refused
	navigate("login page", base+"/")
	run("refresh with the family's live token", chromedp.Evaluate(`fetch("/auth/refresh", {method: "POST"}).then(r => r.status)`, &status, awaitPromise))
	if status != 401 {
		t.Fatalf("live refresh token of the revoked family: %d, want 401", status)
	}

	// 7. Log in again, log out: the protected page is 401.
	logIn("log in again")
	if code := submit("log out", chromedp.Click("#logout", chromedp.ByID)); code != 200 {
		t.Fatalf("log out: landed on status %d", code)
	}
	if code := navigate("app after logout", base+"/app"); code != 401 {
		t.Fatalf("protected page after logout: %d, want 401", code)
	}
	if left := cookies("cookies after logout"); len(left) != 0 {
		t.Fatalf("cookies left after logout: %v", left)
	}
}

func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

// TestBrowserDPoP drives the demo's DPoP mode: the page's key cannot be
// exported, its own calls pass with a fresh proof each, and the access
// token copied out of the page is refused without the key, as Bearer and
// as DPoP, without a proof or with another key's. So are the refresh
// cookies copied out of the browser. The key outlives a reload (IndexedDB).
func TestBrowserDPoP(t *testing.T) {
	chromium := requireChromium(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = demo.Run(ctx, ln, io.Discard) }()
	base := "http://" + ln.Addr().String()
	bctx := startChromium(t, ctx, chromium)

	run := func(step string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	// call runs one of the page's own functions and returns its status.
	call := func(step, js string) int {
		t.Helper()
		var status int
		run(step, chromedp.Evaluate(js, &status, awaitPromise))
		return status
	}
	pageToken := func(step string) string {
		t.Helper()
		var token string
		run(step, chromedp.Evaluate(`window.dpopDemo.accessToken()`, &token))
		return token
	}
	type keyFacts struct {
		Thumbprint        string `json:"thumbprint"`
		Algorithm         string `json:"algorithm"`
		Extractable       bool   `json:"extractable"`
		Exported          bool   `json:"exported"`
		StoredInIndexedDB bool   `json:"storedInIndexedDB"`
	}
	facts := func(step string) keyFacts {
		t.Helper()
		var f keyFacts
		run(step, chromedp.Evaluate(`window.dpopDemo.keyFacts()`, &f, awaitPromise))
		return f
	}

	// 1. Log in on the DPoP page, as a person would: the page gets a
	// DPoP-bound token and calls the DPoP API with it.
	var loggedIn bool
	run("log in with DPoP",
		chromedp.Navigate(base+"/dpop"),
		chromedp.WaitVisible("#dpop-username", chromedp.ByID),
		chromedp.SendKeys("#dpop-username", demo.User, chromedp.ByID),
		chromedp.SendKeys("#dpop-password", demo.Password, chromedp.ByID),
		chromedp.Click("#dpop-login", chromedp.ByID),
		chromedp.Poll(`document.getElementById("dpop-claims").textContent.includes('"sub": "alice"')`, &loggedIn,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	key := facts("key facts")
	if key.Extractable || key.Exported || !key.StoredInIndexedDB || key.Algorithm != "ECDSA P-256" || key.Thumbprint == "" {
		t.Fatalf("page key: %+v, want a non-extractable ECDSA P-256 key in IndexedDB", key)
	}
	token := pageToken("token after login")
	if jkt := cnfJKT(t, token); jkt != key.Thumbprint {
		t.Fatalf("token cnf.jkt %q, page key thumbprint %q", jkt, key.Thumbprint)
	}

	// 2. The page's own calls pass, each with a fresh proof.
	for i := range 3 {
		if status := call("page's DPoP call", `window.dpopDemo.callAPI()`); status != 200 {
			t.Fatalf("page's DPoP call %d: %d", i, status)
		}
	}

	// 3. The token copied out of the page, without the key, is refused.
	other := jwtguardtest.NewDPoPKey(t) // a key other than the page's
	for _, c := range []struct {
		name, path, auth string
		proofKey         *jwtguardtest.DPoPKey
		wantChallenge    string
	}{
		{"as Bearer at the DPoP API", "/api/dpop/me", "Bearer " + token, nil, `error="invalid_token"`},
		{"as Bearer at the Bearer API", "/api/me", "Bearer " + token, nil, `error="invalid_token"`},
		{"as DPoP without a proof", "/api/dpop/me", "DPoP " + token, nil, `error="invalid_dpop_proof"`},
		{"as DPoP with another key's proof", "/api/dpop/me", "DPoP " + token, other, `error="invalid_dpop_proof"`},
	} {
		req, _ := http.NewRequest("GET", base+c.path, nil)
		req.Header.Set("Authorization", c.auth)
		if c.proofKey != nil {
			req.Header.Set("DPoP", c.proofKey.Proof("GET", base+c.path, token))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if challenge := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.Contains(challenge, c.wantChallenge) {
			t.Errorf("stolen token %s: %d %q, want 401 with %s", c.name, resp.StatusCode, challenge, c.wantChallenge)
		}
	}
	// The control: the same Go client with the page's token and a proof by
	// the page's key would pass, but that key cannot leave the page.

	// 4. The refresh cookies copied out of the browser do not refresh
	// without the key, and the browser's session goes on.
	var jar []*network.Cookie
	run("cookies", chromedp.ActionFunc(func(ctx context.Context) error {
		jar, err = network.GetCookies().WithURLs([]string{base + "/auth/refresh"}).Do(ctx)
		return err
	}))
	for _, proofKey := range []*jwtguardtest.DPoPKey{nil, other} {
		req, _ := http.NewRequest("POST", base+"/auth/refresh", nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		for _, c := range jar {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		if proofKey != nil {
			req.Header.Set("DPoP", proofKey.Proof("POST", base+"/auth/refresh", ""))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("stolen refresh cookies (%d cookies, proof by another key: %v): %d, want 401", len(jar), proofKey != nil, resp.StatusCode)
		}
	}
	if status := call("page's refresh", `window.dpopDemo.refresh()`); status != 200 {
		t.Fatalf("page's refresh after the stolen cookies were refused: %d", status)
	}
	refreshed := pageToken("token after refresh")
	if refreshed == token || cnfJKT(t, refreshed) != key.Thumbprint {
		t.Fatal("refresh did not give a new token bound to the page's key")
	}

	// 5. A reload keeps the key (IndexedDB) and resumes the session with
	// it: the bound refresh cookie works only with that key.
	loggedIn = false
	run("reload",
		chromedp.Navigate(base+"/dpop"),
		chromedp.Poll(`document.getElementById("dpop-claims").textContent.includes('"sub": "alice"')`, &loggedIn,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	if again := facts("key facts after reload"); again.Thumbprint != key.Thumbprint {
		t.Fatalf("key after reload %q, before %q", again.Thumbprint, key.Thumbprint)
	}

	// 6. Logout revokes the session: the page's token is refused even with
	// a proof by the page's key.
	last := pageToken("token before logout")
	if status := call("logout", `window.dpopDemo.logout()`); status != 204 {
		t.Fatalf("logout: %d", status)
	}
	var afterLogout int
	run("call after logout", chromedp.Evaluate(`window.dpopDemo.callAPI()`, &afterLogout, awaitPromise))
	if afterLogout != 401 || pageToken("token after logout") != last {
		t.Fatalf("page's call with the revoked token: %d, want 401", afterLogout)
	}
}

// cnfJKT returns the cnf.jkt of a token, read from its payload.
func cnfJKT(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %.20q", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Cnf.JKT
}
