package jose

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
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

// wycheproofFile holds the fields the conformance tests read from the
// Wycheproof JOSE files; a token is a string, or a JSON object for the
// JSON serialisation.
type wycheproofFile struct {
	TestGroups []struct {
		Comment string          `json:"comment"`
		Public  json.RawMessage `json:"public"`
		Private json.RawMessage `json:"private"`
		Tests   []struct {
			TcID    int             `json:"tcId"`
			Comment string          `json:"comment"`
			JWS     json.RawMessage `json:"jws"`
			JWE     json.RawMessage `json:"jwe"`
			PT      string          `json:"pt"`
			Result  string          `json:"result"`
		} `json:"tests"`
	} `json:"testGroups"`
}

func loadWycheproof(t *testing.T, name string) wycheproofFile {
	t.Helper()
	data, err := os.ReadFile("testdata/wycheproof/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var f wycheproofFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestWycheproofJWS runs every JWS vector through the verification layer
// the guard uses (strict compact parsing, key binding, signature check).
func TestWycheproofJWS(t *testing.T) {
	t.Parallel()
	file := loadWycheproof(t, "json_web_signature_test.json")
	var valid, invalid, skipped int
	for _, g := range file.TestGroups {
		rawKey := g.Public
		if rawKey == nil {
			rawKey = g.Private
		}
		key, keyErr := ParseJWK(rawKey, true)
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
				if tok, err := ParseCompact(compact); err == nil {
					accepted = NewKeySet([]*Key{key}).Verify(tok) == nil
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
	file := loadWycheproof(t, "json_web_key_test.json")
	ran := 0
	for _, g := range file.TestGroups {
		doc := g.Public
		if doc == nil {
			doc = g.Private
		}
		if !json.Valid(doc) || !bytesHasKeys(doc) {
			doc = []byte(`{"keys":[` + string(doc) + `]}`)
		}
		set, setErr := ParseStaticJWKSet(doc)
		for _, tc := range g.Tests {
			ran++
			accepted := false
			if setErr == nil {
				var compact string
				_ = json.Unmarshal(tc.JWS, &compact)
				if tok, err := ParseCompact(compact); err == nil {
					accepted = set.Verify(tok) == nil
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

// TestWycheproofJWE runs the JWE vectors through the decryption layer the
// guard uses. RSA1_5 vectors labelled valid are refused on purpose (the
// algorithm is open to padding oracles); every other verdict must match,
// and accepted plaintexts must equal the vector's.
func TestWycheproofJWE(t *testing.T) {
	t.Parallel()
	file := loadWycheproof(t, "json_web_encryption_test.json")
	var ran, accepted, refusedByPolicy int
	for _, g := range file.TestGroups {
		var hdr struct{ Alg, Kid string }
		_ = json.Unmarshal(g.Private, &hdr)
		var dk *DecryptKey
		if parsed, err := jwk.ParseKey(g.Private); err == nil {
			var raw any
			if jwk.Export(parsed, &raw) == nil {
				dk, _ = NewDecryptKey(hdr.Kid, hdr.Alg, raw)
			}
		}
		for _, tc := range g.Tests {
			ran++
			want := tc.Result == "valid" || tc.Result == "acceptable"
			if want && (hdr.Alg == "RSA1_5" || strings.Contains(string(tc.JWE), `"zip"`) || isZipped(tc.JWE)) {
				want = false
				refusedByPolicy++
			}
			var compact string
			var pt []byte
			ok := false
			if json.Unmarshal(tc.JWE, &compact) == nil && dk != nil {
				var err error
				pt, err = Decrypt(compact, []*DecryptKey{dk}, false)
				ok = err == nil
			}
			if ok != want {
				t.Errorf("tcId %d (%s / %s): accepted=%v, want %v", tc.TcID, g.Comment, tc.Comment, ok, want)
				continue
			}
			if ok {
				accepted++
				if hex.EncodeToString(pt) != tc.PT {
					t.Errorf("tcId %d: plaintext %x, want %s", tc.TcID, pt, tc.PT)
				}
			}
		}
	}
	t.Logf("wycheproof JWE: %d vectors, %d decrypted, %d valid ones refused by policy (RSA1_5, zip)", ran, accepted, refusedByPolicy)
	if ran != 139 {
		t.Fatalf("ran %d vectors, want 139", ran)
	}
}

// isZipped reports whether a compact JWE's protected header has "zip".
func isZipped(raw json.RawMessage) bool {
	var compact string
	if json.Unmarshal(raw, &compact) != nil {
		return false
	}
	h, _, _ := strings.Cut(compact, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	return err == nil && strings.Contains(string(b), `"zip"`)
}
