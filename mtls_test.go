package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// testCA issues client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

func (ca *testCA) client(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func x5t(der []byte) string {
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestCertificateBoundTokensOverTLS(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	alice, mallory := ca.client(t, "alice"), ca.client(t, "mallory")
	iss := jwtguardtest.NewIssuer(t, "ES256")
	bound := iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "alice", "cnf": map[string]any{"x5t#S256": x5t(alice.Certificate[0])}})
	unbound := iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "bob"})
	dpopBound := iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "alice", "cnf": map[string]any{"jkt": "abc"}})

	start := func(opts ...jwtguard.Option) *httptest.Server {
		srv := httptest.NewUnstartedServer(newGuard(t, iss, opts...).Handler(protected))
		srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: ca.pool}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	call := func(srv *httptest.Server, cert *tls.Certificate, token string) int {
		t.Helper()
		tr := srv.Client().Transport.(*http.Transport).Clone()
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		return resp.StatusCode
	}
	def := start()
	required := start(jwtguard.WithRequiredCertificateBinding())
	for _, tc := range []struct {
		name  string
		srv   *httptest.Server
		cert  *tls.Certificate
		token string
		want  int
	}{
		{"bound token, its certificate", def, &alice, bound, 200},
		{"bound token, its certificate again (cache hit, checked again)", def, &alice, bound, 200},
		{"bound token, another certificate", def, &mallory, bound, 401},
		{"bound token, no certificate", def, nil, bound, 401},
		{"unbound token, no certificate", def, nil, unbound, 200},
		{"unbound token, a certificate", def, &alice, unbound, 200},
		{"DPoP-bound token as Bearer over mTLS", def, &alice, dpopBound, 401},
		{"required: unbound token", required, &alice, unbound, 401},
		{"required: bound token, its certificate", required, &alice, bound, 200},
	} {
		if got := call(tc.srv, tc.cert, tc.token); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestClientCertFromHeader(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	alice, mallory := ca.client(t, "alice"), ca.client(t, "mallory")
	iss := jwtguardtest.NewIssuer(t, "ES256")
	bound := iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "alice", "cnf": map[string]any{"x5t#S256": x5t(alice.Certificate[0])}})
	g := newGuard(t, iss, jwtguard.InsecureClientCertFromHeader("x-client-cert"))
	pemOf := func(c tls.Certificate) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}))
	}
	for _, tc := range []struct {
		name    string
		headers []string
		wantErr error
	}{
		{"RFC 9440 byte sequence", []string{":" + base64.StdEncoding.EncodeToString(alice.Certificate[0]) + ":"}, nil},
		{"URL-encoded PEM (nginx)", []string{url.PathEscape(pemOf(alice))}, nil},
		{"another certificate", []string{url.PathEscape(pemOf(mallory))}, jwtguard.ErrTokenBinding},
		{"no header", nil, jwtguard.ErrTokenBinding},
		{"two headers", []string{":" + base64.StdEncoding.EncodeToString(alice.Certificate[0]) + ":", "x"}, jwtguard.ErrTokenBinding},
		{"garbage", []string{"not a certificate"}, jwtguard.ErrTokenBinding},
	} {
		r := bearer(bound)
		for _, h := range tc.headers {
			r.Header.Add("X-Client-Cert", h)
		}
		_, err := g.Authenticate(r)
		if (tc.wantErr == nil) != (err == nil) || !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	// The option turns the header off for nothing else: the connection's
	// certificate is ignored (it is the proxy's).
	if _, err := jwtguard.New(t.Context(), jwtguard.InsecureClientCertFromHeader("")); !errors.Is(err, jwtguard.ErrConfig) {
		t.Fatalf("empty header name: %v", err)
	}
}
