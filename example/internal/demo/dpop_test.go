package demo

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestDemoDPoP walks the DPoP mode without a browser: a token bound to a
// key, the DPoP API with proofs, the token alone refused; and the page and
// its script are served.
func TestDemoDPoP(t *testing.T) {
	base, _ := startDemo(t)
	key := jwtguardtest.NewDPoPKey(t) // as the page's dpop.js holds one

	req, _ := http.NewRequest("POST", base+"/token", strings.NewReader(url.Values{"username": {User}, "password": {Password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", key.Proof("POST", base+"/token", ""))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.TokenType != "DPoP" {
		t.Fatalf("token with a proof: %d %q %v", resp.StatusCode, tok.TokenType, err)
	}
	resp.Body.Close()

	other := jwtguardtest.NewDPoPKey(t)
	for _, c := range []struct {
		name, path, scheme string
		proof              *jwtguardtest.DPoPKey
		wantStatus         int
		wantChallenge      string
	}{
		{"DPoP with a proof", "/api/dpop/me", "DPoP", key, 200, ""},
		{"as Bearer", "/api/dpop/me", "Bearer", nil, 401, `error="invalid_token"`},
		{"as Bearer at the Bearer API", "/api/me", "Bearer", nil, 401, `error="invalid_token"`},
		{"DPoP without a proof", "/api/dpop/me", "DPoP", nil, 401, `error="invalid_dpop_proof"`},
		{"DPoP with another key's proof", "/api/dpop/me", "DPoP", other, 401, `error="invalid_dpop_proof"`},
	} {
		req, _ := http.NewRequest("GET", base+c.path, nil)
		req.Header.Set("Authorization", c.scheme+" "+tok.AccessToken)
		if c.proof != nil {
			req.Header.Set("DPoP", c.proof.Proof("GET", base+c.path, tok.AccessToken))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.wantStatus || !strings.Contains(resp.Header.Get("WWW-Authenticate"), c.wantChallenge) {
			t.Errorf("%s: %d %q %s, want %d %s", c.name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body, c.wantStatus, c.wantChallenge)
		}
	}

	for path, want := range map[string]string{"/dpop": "text/html", "/dpop.js": "text/javascript"} {
		resp := get(t, base+path, "")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) || len(body) == 0 {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if path == "/dpop.js" && !strings.Contains(string(body), "extractable") {
			t.Errorf("dpop.js does not make a non-extractable key: %.80s", body)
		}
	}
}
