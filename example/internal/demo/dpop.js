// DPoP mode of the jwtguard demo (RFC 9449), in plain JavaScript.
//
// The page's key pair is made by WebCrypto with extractable: false: scripts
// can sign with the private key but never read it. The CryptoKeyPair is
// kept in IndexedDB (structured clone keeps it non-extractable), so a
// reload signs with the same key. Every request to the server carries a
// fresh proof: a JWS over {jti, htm, htu, iat[, ath][, nonce]} with the
// public key in its header.
"use strict";

const enc = new TextEncoder();

function b64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function sha256(text) {
  return b64url(await crypto.subtle.digest("SHA-256", enc.encode(text)));
}

// idb runs fn on the "keys" object store and resolves with its request's result.
function idb(mode, fn) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("jwtguard-demo", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("keys");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction("keys", mode);
      const req = fn(tx.objectStore("keys"));
      tx.oncomplete = () => { db.close(); resolve(req.result); };
      tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
    };
  });
}

let keyPromise;

// key returns the page's key pair, its public JWK and its RFC 7638
// thumbprint, making and storing the pair on first use.
function key() {
  keyPromise ??= (async () => {
    let pair = await idb("readonly", (s) => s.get("dpop"));
    if (!pair) {
      pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
      await idb("readwrite", (s) => s.put(pair, "dpop"));
    }
    const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey); // public keys always export
    const pub = { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }; // RFC 7638: required members, sorted
    return { pair, pub, thumbprint: await sha256(JSON.stringify(pub)) };
  })();
  return keyPromise;
}

let nonce = ""; // the server's DPoP-Nonce, if it sends one

// proof signs a DPoP proof for method and url; with accessToken, ath binds
// the proof to it.
async function proof(method, url, accessToken) {
  const { pair, pub } = await key();
  const u = new URL(url, location.href);
  const claims = { jti: crypto.randomUUID(), htm: method, htu: u.origin + u.pathname, iat: Math.floor(Date.now() / 1000) };
  if (accessToken) claims.ath = await sha256(accessToken);
  if (nonce) claims.nonce = nonce;
  const header = { typ: "dpop+jwt", alg: "ES256", jwk: pub };
  const input = b64url(enc.encode(JSON.stringify(header))) + "." + b64url(enc.encode(JSON.stringify(claims)));
  // WebCrypto's ECDSA signature is r || s, as JWS wants it.
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, enc.encode(input));
  return input + "." + b64url(sig);
}

// dpopFetch sends a request with a fresh proof (and the access token, if
// given), once more with the server's nonce if it asks for one.
async function dpopFetch(url, init, accessToken) {
  for (let attempt = 0; ; attempt++) {
    const headers = new Headers(init.headers || {});
    const sent = nonce;
    headers.set("DPoP", await proof(init.method || "GET", url, accessToken));
    if (accessToken) headers.set("Authorization", "DPoP " + accessToken);
    const resp = await fetch(url, { ...init, headers });
    const next = resp.headers.get("DPoP-Nonce");
    if (next) nonce = next;
    if (attempt === 0 && next && next !== sent && (resp.status === 400 || resp.status === 401)) {
      continue; // use_dpop_nonce
    }
    return resp;
  }
}

let accessToken = "";
let lastStatus = 0;

function show(status) {
  document.getElementById("dpop-status").textContent = status;
  document.getElementById("dpop-token").textContent = accessToken;
}

// takeToken reads a token response from a login or a refresh.
async function takeToken(resp) {
  lastStatus = resp.status;
  if (resp.status !== 200) {
    accessToken = "";
    show("Not logged in (" + resp.status + ").");
    return resp.status;
  }
  const tok = await resp.json();
  if (tok.token_type !== "DPoP") throw new Error("expected a DPoP token, got " + tok.token_type);
  accessToken = tok.access_token;
  localStorage.setItem("dpop-session", "1");
  show("Logged in; the token expires in " + tok.expires_in + " s.");
  return resp.status;
}

async function login(username, password) {
  const body = new URLSearchParams({ username, password });
  return takeToken(await dpopFetch("/auth/login", { method: "POST", body }));
}

async function refresh() {
  return takeToken(await dpopFetch("/auth/refresh", { method: "POST" }));
}

async function callAPI() {
  const resp = await dpopFetch("/api/dpop/me", {}, accessToken);
  lastStatus = resp.status;
  document.getElementById("dpop-claims").textContent =
    resp.status === 200 ? JSON.stringify(await resp.json(), null, 2) : resp.status + " " + (resp.headers.get("WWW-Authenticate") || "");
  return resp.status;
}

async function logout() {
  const resp = await dpopFetch("/auth/logout", { method: "POST" });
  lastStatus = resp.status;
  localStorage.removeItem("dpop-session");
  show("Logged out (" + resp.status + "). The old token, kept for the demo, no longer works.");
  return resp.status;
}

// keyFacts says what the page can learn of its own private key.
async function keyFacts() {
  const { pair, thumbprint } = await key();
  let exported = true;
  try {
    await crypto.subtle.exportKey("jwk", pair.privateKey);
  } catch {
    exported = false;
  }
  const stored = await idb("readonly", (s) => s.get("dpop"));
  return {
    thumbprint,
    algorithm: pair.privateKey.algorithm.name + " " + pair.privateKey.algorithm.namedCurve,
    extractable: pair.privateKey.extractable,
    exported,
    storedInIndexedDB: Boolean(stored && stored.privateKey instanceof CryptoKey && !stored.privateKey.extractable),
  };
}

// For the browser test and the curious: window.dpopDemo in the console.
window.dpopDemo = {
  login, refresh, callAPI, logout, keyFacts,
  accessToken: () => accessToken,
  lastStatus: () => lastStatus,
};

document.addEventListener("DOMContentLoaded", async () => {
  const click = (id, fn) => document.getElementById(id).addEventListener("click", (e) => { e.preventDefault(); fn(); });
  document.getElementById("dpop-login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await login(document.getElementById("dpop-username").value, document.getElementById("dpop-password").value) === 200) {
      await callAPI();
    }
  });
  click("dpop-call", callAPI);
  click("dpop-refresh", async () => { if (await refresh() === 200) await callAPI(); });
  click("dpop-logout", logout);
  document.getElementById("dpop-jkt").textContent = (await key()).thumbprint;
  // The key survived the reload in IndexedDB: the bound refresh cookie
  // still works with it.
  if (localStorage.getItem("dpop-session") && await refresh() === 200) {
    await callAPI();
  }
});
