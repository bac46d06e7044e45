package jwtguard

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// tenantPlaceholder stands for the tenant in an issuer template.
const tenantPlaceholder = "{tid}"

// WithIssuerTemplate trusts every issuer that equals template with
// "{tid}" replaced by the token's own tid claim: the multi-tenant issuers
// of Microsoft Entra ID, "https://login.microsoftonline.com/{tid}/v2.0",
// whose tenants all sign with the keys of the common endpoint. opts are
// those of [WithTrustedIssuer] (keys and policy: WithJWKS with the shared
// key set, WithAudience, …); one key source serves every tenant. The
// exact-match rule holds per token: its iss must be the template filled
// with its tid, and a tid may hold only letters, digits, '-', '.' and '_'.
// Add [WithTenants] to trust only some tenants; otherwise any tenant's
// token is accepted, as with Entra's "common" endpoint, and the
// application decides what each tenant may do.
func WithIssuerTemplate(template string, opts ...IssuerOption) Option {
	return guardOption(func(c *config) error {
		prefix, suffix, ok := strings.Cut(template, tenantPlaceholder)
		if !ok || strings.Contains(suffix, tenantPlaceholder) {
			return fmt.Errorf("WithIssuerTemplate(%q): need exactly one %s", template, tenantPlaceholder)
		}
		if u, err := url.Parse(prefix + "tenant" + suffix); err != nil || u.Scheme == "" || u.Host == "" || strings.Contains(prefix, "?") {
			return fmt.Errorf("WithIssuerTemplate(%q): not an absolute URL", template)
		}
		ic, err := issuerOptions(template, opts)
		if err != nil {
			return err
		}
		if ic.discovery != "" {
			return fmt.Errorf("WithIssuerTemplate(%q): discovery documents name one issuer; give the shared key set with WithJWKS or WithKeySet", template)
		}
		c.templates = append(c.templates, templateConfig{prefix: prefix, suffix: suffix, anchorConfig: ic})
		return nil
	})
}

// WithTenants trusts only these tenants (tid values) of a
// [WithIssuerTemplate] anchor.
func WithTenants(tids ...string) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		for _, t := range tids {
			if !plainTenant(t) {
				return fmt.Errorf("WithTenants: %q is not a plain tenant ID", t)
			}
		}
		c.tenants = append(c.tenants, tids...)
		return nil
	})
}

type templateConfig struct {
	prefix, suffix string
	anchorConfig
}

// templateAnchor is a trust anchor for the issuers of one template.
type templateAnchor struct {
	prefix, suffix string
	tenants        []string // empty: any
	anchor         *anchor
}

// match returns the anchor for iss when iss is the template filled with tid.
func (t *templateAnchor) match(iss, tid string) (*anchor, bool) {
	if tid == "" || !plainTenant(tid) || len(iss) != len(t.prefix)+len(tid)+len(t.suffix) ||
		!strings.HasPrefix(iss, t.prefix) || !strings.HasSuffix(iss, t.suffix) || iss[len(t.prefix):len(iss)-len(t.suffix)] != tid {
		return nil, false
	}
	if len(t.tenants) > 0 && !slices.Contains(t.tenants, tid) {
		return nil, false
	}
	return t.anchor, true
}

// plainTenant reports whether a tenant ID is made of letters, digits,
// '-', '.' and '_' only (no '/', no '..'), so it cannot reshape the URL.
func plainTenant(tid string) bool {
	if tid == "" || len(tid) > 128 || strings.Contains(tid, "..") {
		return false
	}
	for i := 0; i < len(tid); i++ {
		c := tid[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

var errTemplateTenants = errors.New("WithTenants applies to WithIssuerTemplate only")
