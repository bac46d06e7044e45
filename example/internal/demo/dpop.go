package demo

import (
	_ "embed"
	"html/template"
	"net/http"
)

// dpopJS is the page's DPoP client: plain JavaScript, WebCrypto and
// IndexedDB, no bundle.
//
//go:embed dpop.js
var dpopJS []byte

func dpopScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(dpopJS)
}

var dpopPage = template.Must(template.New("dpop").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>jwtguard demo: DPoP</title>` + style + `<script src="/dpop.js" defer></script></head><body>
<h1>jwtguard demo: DPoP</h1>
<p>This page makes an ES256 key pair with WebCrypto whose private key cannot be exported, not even by
the page's own scripts, and keeps it in IndexedDB. It logs in with a DPoP proof, so the access token
it gets is bound to the key (<code>cnf.jkt</code>), and signs a fresh proof (method, URL, time, a
random id and the token's hash) for every API call. The token is in this page's memory, and shown
below: copied elsewhere, without the key, it is refused. The refresh token stays in an HttpOnly
cookie and is bound to the key too.</p>
<form id="dpop-login-form">
<label>User <input name="username" id="dpop-username" autocomplete="username"></label><br>
<label>Password <input name="password" id="dpop-password" type="password" autocomplete="current-password"></label><br>
<button type="submit" id="dpop-login">Log in with DPoP</button>
</form>
<p><button id="dpop-call">Call /api/dpop/me</button> <button id="dpop-refresh">Refresh</button>
<button id="dpop-logout">Log out</button></p>
<p>Key thumbprint: <code id="dpop-jkt"></code></p>
<p id="dpop-status">Not logged in.</p>
<p>Access token:</p>
<pre id="dpop-token"></pre>
<p>Verified claims, from the API:</p>
<pre id="dpop-claims"></pre>
<p><a href="/">Cookie mode</a></p>
</body></html>`))
