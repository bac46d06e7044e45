package jwtguard_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestDeprecatedDialKept: a Transport whose deprecated Dial is the
// application's egress policy (here refusing everything) keeps it: the
// guard's connect-time check wraps it rather than replacing it with a
// dialer of its own, which net/http would prefer (an attack review).
func TestDeprecatedDialKept(t *testing.T) {
	t.Parallel()
	keys := jwtguardtest.NewIssuer(t, "ES256")
	var called atomic.Int32
	client := &http.Client{Transport: &http.Transport{
		Dial: func(network, addr string) (net.Conn, error) {
			called.Add(1)
			return nil, errors.New("egress policy: refused")
		},
	}}
	// control: the client itself refuses
	if _, err := client.Get(keys.JWKSURL()); err == nil {
		t.Fatal("control: client should refuse")
	}
	called.Store(0)
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(keys.JWKSURL()), jwtguard.WithIssuer(keys.URL),
		jwtguard.WithAudience(audience), jwtguard.WithHTTPClient(client))
	if err != nil {
		t.Fatal(err)
	}
	err = authErr(g, keys.Sign(jwtguardtest.Claims{"aud": audience}))
	if err == nil {
		t.Errorf("keys fetched through a client whose dialer refuses everything (its Dial called %d times)", called.Load())
	}
}

// TestDeprecatedDialTLSChecked: https dials through a Transport's
// deprecated DialTLS get the connect-time check of a discovered jwks_uri
// too: a name that rebinds to an internal address is refused.
func TestDeprecatedDialTLSChecked(t *testing.T) {
	t.Parallel()
	keys := jwtguardtest.NewIssuer(t, "ES256")
	var issuer string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/jwks") {
			_, _ = w.Write(keys.JWKS())
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuer, "jwks_uri": issuer + "/jwks"})
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	issuer = "https://idp.example:" + port
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	var n atomic.Int32
	for _, useDialTLS := range []bool{false, true} {
		n.Store(0)
		tr := &http.Transport{DisableKeepAlives: true}
		dialTLS := func(network, addr string) (net.Conn, error) {
			c, err := tls.Dial(network, srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "example.com"})
			if err != nil {
				return nil, err
			}
			if n.Add(1) == 1 { // the metadata dial: looks public
				return fakeRemoteTLS{c, &net.TCPAddr{IP: net.ParseIP("203.0.113.10"), Port: 443}}, nil
			}
			return c, nil // the jwks dial: 127.0.0.1
		}
		if useDialTLS {
			tr.DialTLS = dialTLS
		} else {
			tr.DialTLSContext = func(_ context.Context, network, addr string) (net.Conn, error) { return dialTLS(network, addr) }
		}
		g, err := jwtguard.New(t.Context(), jwtguard.WithIssuerDiscovery(issuer), jwtguard.WithAudience(audience),
			jwtguard.WithHTTPClient(&http.Client{Transport: tr}))
		if err != nil {
			t.Fatal(err)
		}
		err = authErr(g, keys.Sign(jwtguardtest.Claims{"iss": issuer, "aud": audience}))
		t.Logf("DialTLS=%v: %v (%s)", useDialTLS, err, g.Status().KeySources[0].LastError)
		if err == nil {
			t.Errorf("DialTLS=%v: jwks_uri rebinding to 127.0.0.1 accepted for a public issuer", useDialTLS)
		}
	}
}

type fakeRemoteTLS struct {
	*tls.Conn
	addr net.Addr
}

func (c fakeRemoteTLS) RemoteAddr() net.Addr { return c.addr }
