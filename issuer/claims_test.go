package issuer_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
)

// nested returns n objects, one inside the other.
func nested(n int) any {
	var v any = "x"
	for range n {
		v = map[string]any{"d": v}
	}
	return v
}

// TestIssueRefusesShadowingClaims: extra claims may not shadow the issuer's
// under any spelling encoding/json would match, and Issue never signs what
// jwtguard refuses to read.
func TestIssueRefusesShadowingClaims(t *testing.T) {
	t.Parallel()
	type row struct {
		name  string
		extra map[string]any
	}
	var refused []row
	for _, r := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "cnf"} {
		refused = append(refused, row{r, map[string]any{r: "x"}}, row{strings.ToUpper(r), map[string]any{strings.ToUpper(r): "x"}})
	}
	refused = append(refused,
		row{"long s sub", map[string]any{"\u017fub": "mallory"}}, // ſ folds to s
		row{"long s sid", map[string]any{"\u017fid": "other-session"}},
		row{"Scope", map[string]any{"Scope": "admin"}},
		row{"SCP", map[string]any{"SCP": []string{"admin"}}},
		row{"long s scope", map[string]any{"\u017fcope": "admin"}},
	)
	// jwtguard refuses these claims sets, so Issue must not sign them.
	unreadable := []row{
		{"names folding together", map[string]any{"role": "user", "ROLE": "admin"}},
		{"Kelvin sign", map[string]any{"\u212a": 1, "k": 2}},
		{"nested names folding together", map[string]any{"profile": map[string]any{"email": "a@x", "Email": "b@x"}}},
		{"in an array", map[string]any{"list": []any{map[string]any{"a": 1, "A": 2}}}},
		{"17 levels", map[string]any{"deep": nested(16)}},
	}
	refused = append(refused, unreadable...)
	iss, err := issuer.New("https://login.example", issuer.WithAudience("api"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			t.Parallel()
			if _, _, err := iss.Issue("alice", tc.extra); !errors.Is(err, issuer.ErrExtraClaim) {
				t.Fatalf("Issue(%v) = %v, want ErrExtraClaim", tc.extra, err)
			}
		})
	}
	for _, tc := range unreadable {
		b, _ := json.Marshal(tc.extra)
		if _, err := jwtguard.ClaimsFromJSON(b); err == nil {
			t.Errorf("%s: jwtguard reads %s; the case belongs in the other table", tc.name, b)
		}
	}

	clock := newClock()
	iss, err = issuer.New("https://login.example", issuer.WithAudience("api"), issuer.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []row{
		{"scope and scp", map[string]any{"scope": "a b", "scp": []string{"c"}}},
		{"custom", map[string]any{"name": "Alice", "email": "a@x", "profile": map[string]any{"email": "a@x", "phone": "1"}}},
		{"16 levels", map[string]any{"deep": nested(15)}},
		{"none", nil},
	} {
		t.Run("allowed/"+tc.name, func(t *testing.T) {
			t.Parallel()
			token, _, err := iss.Issue("alice", tc.extra)
			if err != nil {
				t.Fatal(err)
			}
			c, err := verifier(t, iss, clock).Verify(t.Context(), token)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject() != "alice" || c.SessionID() != "" {
				t.Fatalf("claims %s", c.JSON())
			}
		})
	}
}
