package jwtguard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard/internal/jose"
)

// discovery finds an issuer's jwks_uri in its OpenID Connect discovery
// document, or its RFC 8414 authorization server metadata, and refreshes
// it on the same schedule rules as a key set.
//
// The metadata is fetched from a host the operator named, but the jwks_uri
// in it is the server's word, so it is held to more: https (or what
// checkKeyURL allows), on the issuer's own host unless that host is listed
// with WithDiscoveredJWKSHosts, and, at connect time, never an internal
// address (loopback, private, link-local) unless the issuer itself
// answered from one. The connect-time check sees the resolved address, so
// a public name that resolves to 127.0.0.1 does not get through.
type discovery struct {
	issuer    string
	hosts     []string // allowed jwks_uri hosts besides the issuer's, lower case
	client    *http.Client
	allowHTTP bool
	settings  KeySetSettings
	now       func() time.Time

	mu        sync.Mutex
	jwks      string
	freshTill time.Time
	internal  atomic.Bool // the issuer answered from an internal address
}

// WithDiscoveredJWKSHosts lets a discovered jwks_uri name these hosts
// ("www.googleapis.com", "keys.example.com:8443") besides the issuer's own,
// for identity providers that publish keys elsewhere (Google does). Give
// it with WithIssuerDiscovery, at guard level or inside WithTrustedIssuer.
// Default: the jwks_uri must be on the issuer's host.
func WithDiscoveredJWKSHosts(hosts ...string) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		for _, h := range hosts {
			if h == "" || strings.ContainsAny(h, "/@?#") {
				return fmt.Errorf("discovered JWKS host %q: give a host name, with a port if not 443", h)
			}
			if err := asciiHost(h); err != nil {
				return fmt.Errorf("discovered JWKS host: %v", err)
			}
			c.jwksHosts = append(c.jwksHosts, strings.ToLower(h))
		}
		return nil
	})
}

// jwksURL returns the issuer's jwks_uri, fetching the metadata when it is
// due (took is how long that took). A failed refresh keeps the last good URL.
func (d *discovery) jwksURL(ctx context.Context) (_ string, took time.Duration, _ error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if d.jwks != "" && now.Before(d.freshTill) {
		return d.jwks, 0, nil
	}
	iss, _ := url.Parse(d.issuer)
	check := &dialCheck{host: iss.Hostname()}
	u, ttl, err := d.fetch(withDialCheck(ctx, check))
	took = max(d.now().Sub(now), time.Nanosecond) // > 0: metadata was read
	// Whether the issuer is internal is learnt only from a fetch that
	// gave good metadata over a new connection (a reused one says nothing new).
	if err == nil && check.dialed.Load() {
		d.internal.Store(check.internal.Load())
	}
	if err != nil {
		if d.jwks != "" {
			return d.jwks, took, nil
		}
		return "", took, fmt.Errorf("discovery: %w", err)
	}
	d.jwks, d.freshTill = u, now.Add(ttl)
	return u, took, nil
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
			errs = append(errs, fmt.Errorf("%s: %w", u, err))
			continue
		}
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := jose.CheckJSON(body); err != nil {
			return "", 0, permanent(fmt.Errorf("%s: %v", u, err))
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return "", 0, permanent(fmt.Errorf("%s: invalid JSON", u))
		}
		// The metadata must name exactly the issuer we trust (OIDC Discovery §4.3,
		// RFC 8414 §3.3), or anyone could point us at their keys.
		if doc.Issuer != d.issuer {
			return "", 0, permanent(fmt.Errorf("discovery document %s names issuer %q, but the configured issuer is %q (they must match exactly, trailing slash included)", u, doc.Issuer, d.issuer))
		}
		if err := checkKeyURL(doc.JWKSURI, d.allowHTTP); err != nil {
			return "", 0, permanent(fmt.Errorf("%s: jwks_uri %v", u, err))
		}
		if err := d.checkJWKSHost(doc.JWKSURI); err != nil {
			return "", 0, permanent(fmt.Errorf("%s: jwks_uri: %v", u, err))
		}
		return doc.JWKSURI, lifetime(header, d.now(), d.settings), nil
	}
	// Permanent only when every place answered and none had the metadata;
	// the text alone is kept, so one 404 does not make a timeout permanent.
	err := errors.New(errors.Join(errs...).Error())
	if !slices.ContainsFunc(errs, func(e error) bool { return !isPermanent(e) }) {
		err = permanent(err)
	}
	return "", 0, err
}

// checkJWKSHost requires the jwks_uri to be on the issuer's host or a
// listed one, and to carry no user info.
func (d *discovery) checkJWKSHost(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.User != nil {
		return errors.New("user info in the URL")
	}
	if err := asciiHost(u.Hostname()); err != nil {
		return err
	}
	iss, err := url.Parse(d.issuer)
	if err != nil {
		return errors.New("issuer is not a URL")
	}
	host := strings.ToLower(u.Host)
	if host == strings.ToLower(iss.Host) || slices.Contains(d.hosts, host) {
		return nil
	}
	return fmt.Errorf("host %q is neither the issuer's (%q) nor listed with WithDiscoveredJWKSHosts", u.Host, iss.Host)
}

// dialCheck is the connect-time policy of one fetch, carried in its context.
type dialCheck struct {
	host         string // the URL's host name: a dial elsewhere is to a proxy
	denyInternal bool   // refuse an internal peer
	dialed       atomic.Bool
	internal     atomic.Bool // the peer of the last dial was internal
}

type dialCheckKey struct{}

func withDialCheck(ctx context.Context, c *dialCheck) context.Context {
	return context.WithValue(ctx, dialCheckKey{}, c)
}

// checkedDial wraps a transport's dialer with the fetch's dialCheck. It
// looks at the address actually connected to, after name resolution. A
// dial to another host than the URL's is a dial to a proxy (HTTPS_PROXY),
// which resolves the name itself: it is not judged, so with a proxy only
// the URL checks apply.
func checkedDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		check, _ := ctx.Value(dialCheckKey{}).(*dialCheck)
		if host, _, _ := net.SplitHostPort(addr); check == nil || !strings.EqualFold(host, check.host) {
			return conn, nil
		}
		internal := false
		if tcp, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
			ip, _ := netip.AddrFromSlice(tcp.IP)
			internal = isInternal(ip.Unmap())
		}
		check.internal.Store(internal)
		check.dialed.Store(true)
		if check.denyInternal && internal {
			conn.Close()
			return nil, errors.New("jwks_uri resolves to an internal address while the issuer is public")
		}
		return conn, nil
	}
}

// isInternal reports whether ip is not a public unicast address. An IPv6
// address that carries an IPv4 one (NAT64, SIIT, IPv4-compatible, 6to4)
// is judged by the IPv4 address it reaches.
func isInternal(ip netip.Addr) bool {
	ip = ip.Unmap()
	if v4, ok := embeddedIPv4(ip); ok {
		return isInternal(v4)
	}
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() ||
		slices.ContainsFunc(internalPrefixes, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// internalPrefixes are the special-purpose ranges (RFC 6890) the netip
// predicates do not cover.
var internalPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{
		"0.0.0.0/8",      // "this network"
		"100.64.0.0/10",  // carrier-grade NAT, cloud metadata neighbours
		"192.0.0.0/24",   // IETF protocol assignments
		"198.18.0.0/15",  // benchmarking
		"240.0.0.0/4",    // reserved, and the broadcast address
		"fec0::/10",      // site-local (deprecated, still routed on some networks)
		"64:ff9b:1::/48", // local-use NAT64 (RFC 8215)
	} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}()

// embeddedIPv4 returns the IPv4 address an IPv6 one stands for, in the
// well-known NAT64 prefix 64:ff9b::/96, SIIT ::ffff:0:0:0/96, the
// IPv4-compatible ::/96 and 6to4 2002::/16.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	v4 := func(at int) (netip.Addr, bool) { return netip.AddrFrom4([4]byte(b[at : at+4])), true }
	switch {
	case nat64.Contains(ip), siit.Contains(ip), ipv4Compatible.Contains(ip):
		return v4(12)
	case sixToFour.Contains(ip):
		return v4(2)
	}
	return netip.Addr{}, false
}

var (
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	siit           = netip.MustParsePrefix("::ffff:0:0:0/96")
	ipv4Compatible = netip.MustParsePrefix("::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)
