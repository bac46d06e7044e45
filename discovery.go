package jwtguard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// discovery finds an issuer's jwks_uri in its OpenID Connect discovery
// document, or its RFC 8414 authorization server metadata, and refreshes
// it on the same schedule rules as a key set.
type discovery struct {
	issuer    string
	client    *http.Client
	allowHTTP bool
	settings  CacheSettings
	now       func() time.Time

	mu        sync.Mutex
	jwks      string
	freshTill time.Time
}

// jwksURL returns the issuer's jwks_uri, fetching the metadata when it is
// due. A failed refresh keeps the last good URL.
func (d *discovery) jwksURL(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if d.jwks != "" && now.Before(d.freshTill) {
		return d.jwks, nil
	}
	u, ttl, err := d.fetch(ctx)
	if err != nil {
		if d.jwks != "" {
			return d.jwks, nil
		}
		return "", fmt.Errorf("discovery: %v", err)
	}
	d.jwks, d.freshTill = u, now.Add(ttl)
	return u, nil
}

// metadataURLs lists where the metadata may be: OIDC Discovery §4 first,
// then RFC 8414 §3 (well-known segment before the issuer's path).
func metadataURLs(issuer string) []string {
	trimmed := strings.TrimSuffix(issuer, "/")
	out := []string{trimmed + "/.well-known/openid-configuration"}
	if u, err := url.Parse(trimmed); err == nil {
		out = append(out, u.Scheme+"://"+u.Host+"/.well-known/oauth-authorization-server"+u.Path)
	}
	return out
}

func (d *discovery) fetch(ctx context.Context) (string, time.Duration, error) {
	var errs []error
	for _, u := range metadataURLs(d.issuer) {
		body, header, err := getDocument(ctx, d.client, u, "application/json")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", u, err))
			continue
		}
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return "", 0, fmt.Errorf("%s: invalid JSON", u)
		}
		// The metadata must name exactly the issuer we trust (OIDC Discovery §4.3,
		// RFC 8414 §3.3), or anyone could point us at their keys.
		if doc.Issuer != d.issuer {
			return "", 0, fmt.Errorf("%s: issuer %q does not match %q", u, doc.Issuer, d.issuer)
		}
		if err := checkKeyURL(doc.JWKSURI, d.allowHTTP); err != nil {
			return "", 0, fmt.Errorf("%s: jwks_uri: %v", u, errors.Unwrap(err))
		}
		return doc.JWKSURI, lifetime(header, d.now(), d.settings), nil
	}
	return "", 0, errors.Join(errs...)
}

func newDiscoveredJWKS(issuer string, client *http.Client, s CacheSettings, allowHTTP bool, now func() time.Time, log *slog.Logger, onError func(string, error)) (*remoteJWKS, error) {
	if err := checkKeyURL(issuer, allowHTTP); err != nil {
		return nil, err
	}
	s.fill()
	j := newRemote(client, s, now, log, onError)
	j.discover = &discovery{issuer: issuer, client: j.client, allowHTTP: allowHTTP, settings: s, now: now}
	return j, nil
}
