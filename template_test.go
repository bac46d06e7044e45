package jwtguard_test

import (
	"errors"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestIssuerTemplate: Entra-style multi-tenant issuers share one key set;
// each token's iss must be the template filled with its own tid.
func TestIssuerTemplate(t *testing.T) {
	t.Parallel()
	idp := jwtguardtest.NewIssuer(t, "RS256")
	fetches := countingJWKS(idp)
	template := idp.URL + "/{tid}/v2.0"
	issFor := func(tid string) string { return idp.URL + "/" + tid + "/v2.0" }
	any, err := jwtguard.New(t.Context(), jwtguard.WithIssuerTemplate(template, jwtguard.WithJWKS(idp.JWKSURL()), jwtguard.WithAudience(audience)))
	if err != nil {
		t.Fatal(err)
	}
	some, err := jwtguard.New(t.Context(), jwtguard.WithIssuerTemplate(template, jwtguard.WithJWKS(idp.JWKSURL()), jwtguard.WithAudience(audience),
		jwtguard.WithTenants("contoso")))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		claims     jwtguardtest.Claims
		anyErr     error
		limitedErr error
	}{
		{"tenant contoso", jwtguardtest.Claims{"iss": issFor("contoso"), "tid": "contoso"}, nil, nil},
		{"tenant fabrikam", jwtguardtest.Claims{"iss": issFor("fabrikam"), "tid": "fabrikam"}, nil, jwtguard.ErrIssuer},
		{"tid differs from iss", jwtguardtest.Claims{"iss": issFor("contoso"), "tid": "fabrikam"}, jwtguard.ErrIssuer, jwtguard.ErrIssuer},
		{"no tid", jwtguardtest.Claims{"iss": issFor("contoso")}, jwtguard.ErrIssuer, jwtguard.ErrIssuer},
		{"tid with a slash", jwtguardtest.Claims{"iss": issFor("a/b"), "tid": "a/b"}, jwtguard.ErrIssuer, jwtguard.ErrIssuer},
		{"tid with dots", jwtguardtest.Claims{"iss": issFor(".."), "tid": ".."}, jwtguard.ErrIssuer, jwtguard.ErrIssuer},
		{"v1 issuer", jwtguardtest.Claims{"iss": "https://sts.windows.net/contoso/", "tid": "contoso"}, jwtguard.ErrIssuer, jwtguard.ErrIssuer},
		{"other audience", jwtguardtest.Claims{"iss": issFor("contoso"), "tid": "contoso", "aud": "graph"}, jwtguard.ErrAudience, jwtguard.ErrAudience},
	}
	for _, tt := range tests {
		c := jwtguardtest.Claims{"aud": audience}
		for k, v := range tt.claims {
			c[k] = v
		}
		token := idp.Sign(c)
		for _, g := range []struct {
			name string
			g    *jwtguard.Guard
			want error
		}{{"any tenant", any, tt.anyErr}, {"WithTenants", some, tt.limitedErr}} {
			if err := authErr(g.g, token); !errors.Is(err, g.want) || (err == nil) != (g.want == nil) {
				t.Errorf("%s, %s: %v, want %v", tt.name, g.name, err, g.want)
			}
		}
	}
	if n := fetches.Load(); n != 2 { // one per guard, shared by every tenant
		t.Fatalf("%d fetches for two guards, want 2", n)
	}
	for _, bad := range []string{"https://login.example/v2.0", "https://login.example/{tid}/{tid}", "{tid}"} {
		if _, err := jwtguard.New(t.Context(), jwtguard.WithIssuerTemplate(bad, jwtguard.WithJWKS(idp.JWKSURL()), jwtguard.WithAudience("a"))); !errors.Is(err, jwtguard.ErrConfig) {
			t.Errorf("template %q: %v, want ErrConfig", bad, err)
		}
	}
}
