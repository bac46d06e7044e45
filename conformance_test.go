package jwtguard

import (
	"encoding/json"
	"os"
	"testing"
)

// Wycheproof vectors whose label is wrong for a strict verifier (see the
// vectors' SOURCES.md): skip the mislabelled ones, expect rejection of the rest.
var (
	wycheproofSkip = map[int]string{
		367: "byte-identical to valid tcId 357 but labelled invalid (C2SP/wycheproof#236)",
		370: "byte-identical to valid tcId 357 but labelled invalid (C2SP/wycheproof#236)",
	}
	wycheproofMustReject = map[int]string{
		372: "'?' inside a base64url segment: malleable encoding",
		373: "'?' inside a base64url segment: malleable encoding",
		346: "key alg PS256, token PS384: the key's alg binds",
		347: "key alg PS256, token PS384: the key's alg binds",
		350: `key alg "ES521" is not a registered algorithm`,
		351: `key alg "ES521" is not a registered algorithm`,
	}
)

// TestWycheproofJWS runs every JWS vector through the verification layer
// the guard uses (strict compact parsing, key binding, signature check).
func TestWycheproofJWS(t *testing.T) {
	t.Parallel()
	var file struct {
		TestGroups []struct {
			Comment string          `json:"comment"`
			Public  json.RawMessage `json:"public"`
			Private json.RawMessage `json:"private"`
			Tests   []struct {
				TcID    int             `json:"tcId"`
				Comment string          `json:"comment"`
				JWS     json.RawMessage `json:"jws"`
				Result  string          `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	data, err := os.ReadFile("testdata/wycheproof/json_web_signature_test.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	var valid, invalid, skipped int
	for _, g := range file.TestGroups {
		rawKey := g.Public
		if rawKey == nil {
			rawKey = g.Private
		}
		key, keyErr := parseJWK(rawKey, true)
		for _, tc := range g.Tests {
			if why, ok := wycheproofSkip[tc.TcID]; ok {
				skipped++
				t.Logf("tcId %d skipped: %s", tc.TcID, why)
				continue
			}
			want := tc.Result == "valid" || tc.Result == "acceptable"
			if _, ok := wycheproofMustReject[tc.TcID]; ok {
				want = false
			}
			var compact string
			accepted := false
			if json.Unmarshal(tc.JWS, &compact) == nil && keyErr == nil {
				if tok, err := parseCompact(compact); err == nil {
					accepted = verifyJWS(t.Context(), tok, staticKeys{newKeySet([]*verifyKey{key})}) == nil
				}
			}
			if accepted != want {
				t.Errorf("tcId %d (%s / %s): accepted=%v, want %v (key error: %v)", tc.TcID, g.Comment, tc.Comment, accepted, want, keyErr)
			}
			if want {
				valid++
			} else {
				invalid++
			}
		}
	}
	t.Logf("wycheproof JWS: %d accepted as expected, %d rejected as expected, %d skipped", valid, invalid, skipped)
	if valid+invalid+skipped != 401 {
		t.Fatalf("ran %d vectors, want 401", valid+invalid+skipped)
	}
}

// TestWycheproofJWK runs the key-set vectors: a set given in configuration
// must be refused when it is ambiguous or weak, and tokens then never verify.
func TestWycheproofJWK(t *testing.T) {
	t.Parallel()
	var file struct {
		TestGroups []struct {
			Comment string          `json:"comment"`
			Public  json.RawMessage `json:"public"`
			Private json.RawMessage `json:"private"`
			Tests   []struct {
				TcID    int    `json:"tcId"`
				Comment string `json:"comment"`
				JWS     string `json:"jws"`
				Result  string `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	data, err := os.ReadFile("testdata/wycheproof/json_web_key_test.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, g := range file.TestGroups {
		doc := g.Public
		if doc == nil {
			doc = g.Private
		}
		if !json.Valid(doc) || !bytesHasKeys(doc) {
			doc = []byte(`{"keys":[` + string(doc) + `]}`)
		}
		set, setErr := parseStaticJWKSet(doc)
		for _, tc := range g.Tests {
			ran++
			accepted := false
			if setErr == nil {
				if tok, err := parseCompact(tc.JWS); err == nil {
					accepted = verifyJWS(t.Context(), tok, staticKeys{set}) == nil
				}
			}
			if want := tc.Result == "valid"; accepted != want {
				t.Errorf("tcId %d (%s / %s): accepted=%v, want %v (set error: %v)", tc.TcID, g.Comment, tc.Comment, accepted, want, setErr)
			}
		}
	}
	if ran != 26 {
		t.Fatalf("ran %d vectors, want 26", ran)
	}
}

func bytesHasKeys(doc []byte) bool {
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	return json.Unmarshal(doc, &probe) == nil && probe.Keys != nil
}
