package jwtguard

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// Certificate-bound access tokens (RFC 8705 §3): a token whose cnf claim
// has "x5t#S256" is accepted only from a client that presents that
// certificate on the connection. The check needs the request, so it is
// made by [Guard.Authenticate] on every request, cache hits included;
// [Guard.Verify] alone cannot make it.

// WithRequiredCertificateBinding refuses every token that is not bound to
// a client certificate (no cnf["x5t#S256"]). Tokens that are bound are
// always checked against the connection's certificate, with or without
// this option. Default: unbound tokens are accepted.
func WithRequiredCertificateBinding() Option {
	return guardOption(func(c *config) error { c.sender.requireCert = true; return nil })
}

// InsecureClientCertFromHeader takes the client certificate from request
// header name instead of the TLS connection, for servers behind a proxy
// that terminates TLS, checks client certificates and forwards the one it
// saw. The value may be RFC 9440's Client-Cert form (":base64 DER:"), a
// PEM certificate, or a URL-encoded PEM certificate (nginx's
// $ssl_client_escaped_cert). Only safe when the proxy always sets or
// removes the header: a client that reaches the server directly, or
// through a proxy that passes the header on, can claim any certificate.
// When set, the connection's own certificate is ignored. Default: the
// certificate of the TLS connection (r.TLS.PeerCertificates[0]).
func InsecureClientCertFromHeader(name string) Option {
	return guardOption(func(c *config) error {
		if name == "" {
			return errors.New("InsecureClientCertFromHeader: empty header name")
		}
		c.sender.certHeader = textproto.CanonicalMIMEHeaderKey(name)
		return nil
	})
}

// CertificateThumbprint returns the token's cnf["x5t#S256"] (RFC 8705):
// the base64url SHA-256 of the client certificate it is bound to, or "".
func (c *Claims) CertificateThumbprint() string { return c.jc.CnfX5tS256 }

// checkCertBinding applies RFC 8705 §3 to a verified token.
func (p *senderPolicy) checkCertBinding(r *http.Request, c *Claims) error {
	want := c.jc.CnfX5tS256
	if want == "" {
		if p.requireCert {
			return failf(ErrTokenBinding, `token not bound to a client certificate (no cnf "x5t#S256"), and WithRequiredCertificateBinding is set`)
		}
		return nil
	}
	der, err := p.clientCert(r)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(der)
	if base64.RawURLEncoding.EncodeToString(sum[:]) != want {
		return failf(ErrTokenBinding, "the client certificate is not the one the token is bound to (cnf x5t#S256)")
	}
	return nil
}

// clientCert returns the DER of the client's certificate.
func (p *senderPolicy) clientCert(r *http.Request) ([]byte, error) {
	if p.certHeader == "" {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return nil, failf(ErrTokenBinding, "certificate-bound token (cnf x5t#S256), and the connection has no client certificate")
		}
		return r.TLS.PeerCertificates[0].Raw, nil
	}
	values := r.Header[p.certHeader]
	switch len(values) {
	case 0:
		return nil, failf(ErrTokenBinding, "certificate-bound token (cnf x5t#S256), and no %s header", p.certHeader)
	case 1:
	default:
		return nil, failf(ErrTokenBinding, "%d %s headers", len(values), p.certHeader)
	}
	der, ok := decodeCertHeader(values[0])
	if !ok {
		return nil, failf(ErrTokenBinding, "the %s header holds no certificate", p.certHeader)
	}
	return der, nil
}

// maxCertHeader bounds a forwarded certificate.
const maxCertHeader = 16 << 10

func decodeCertHeader(v string) ([]byte, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxCertHeader {
		return nil, false
	}
	if len(v) > 2 && v[0] == ':' && v[len(v)-1] == ':' { // RFC 9440 byte sequence
		der, err := base64.StdEncoding.Strict().DecodeString(v[1 : len(v)-1])
		return der, err == nil && len(der) > 0
	}
	if strings.HasPrefix(v, "%") || strings.Contains(v, "%0A") || strings.Contains(v, "%20") {
		u, err := url.PathUnescape(v)
		if err != nil {
			return nil, false
		}
		v = u
	}
	b, rest := pem.Decode([]byte(v))
	if b == nil || b.Type != "CERTIFICATE" || strings.TrimSpace(string(rest)) != "" {
		return nil, false
	}
	return b.Bytes, true
}
