package bench

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Issuer is the iss of every pool token. It is a fixed name, not the URL of
// the JWKS server, so that tokens signed once can be verified by any later
// process that serves the same key.
const Issuer = "https://issuer.bench.example"

// Audience is the aud of every pool token.
const Audience = "bench-api"

// Algorithms is what every implementation is measured with.
var Algorithms = []string{"RS256", "ES256", "EdDSA", "HS256"}

// Pool is one signing key and a numbered list of distinct tokens signed
// with it. Token i is always the same claims (sub user-i, jti nonce-i, iat
// spread over an hour, exp 12 hours after the pool was made); for RS256,
// EdDSA and HS256 it is the same string every time it is signed, so two
// implementations given token i get the same bytes whether it was stored or
// signed again. Stored tokens (a pool loaded from a file or grown with
// Grow) are kept as "Bearer <token>" in one byte arena, so a pool of a
// million tokens is two allocations the garbage collector need not scan.
type Pool struct {
	Alg   string
	KID   string
	Base  int64  // unix time the pool was made: iat is at most this, exp is this + 12h
	Nonce string // makes jti unique across pools

	signer crypto.Signer // nil for HMAC
	secret []byte

	header string // base64url of the JOSE header, the same for every token

	mu     sync.Mutex
	arena  []byte
	offs   []int    // token i is arena[offs[i]:offs[i+1]]
	stored []string // views into arena, "Bearer <token>"
}

// NewPool makes a fresh key for alg (RSA 2048, P-256, Ed25519 or a 32-byte
// HMAC secret) and an empty pool.
func NewPool(alg string) (*Pool, error) {
	p := &Pool{Alg: alg, Base: time.Now().Add(-time.Minute).Unix(), Nonce: randomString(6)}
	var err error
	switch alg {
	case "RS256":
		p.signer, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		p.signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, p.signer, err = ed25519.GenerateKey(rand.Reader)
	case "HS256":
		p.secret = make([]byte, 32)
		_, err = rand.Read(p.secret)
	default:
		return nil, fmt.Errorf("bench: unknown algorithm %q", alg)
	}
	if err != nil {
		return nil, err
	}
	p.KID = alg + "-" + randomString(6)
	p.init()
	return p, nil
}

func (p *Pool) init() {
	h, _ := json.Marshal(map[string]string{"alg": p.Alg, "kid": p.KID, "typ": "JWT"})
	p.header = base64.RawURLEncoding.EncodeToString(h)
	p.offs = []int{0}
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// PublicKey is the key that verifies the pool's tokens (nil for HMAC).
func (p *Pool) PublicKey() crypto.PublicKey {
	if p.signer == nil {
		return nil
	}
	return p.signer.Public()
}

// Secret is the HMAC secret (nil for asymmetric algorithms).
func (p *Pool) Secret() []byte { return p.secret }

// HMAC reports whether the pool signs with a shared secret.
func (p *Pool) HMAC() bool { return p.secret != nil }

// Len is the number of stored tokens.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.stored)
}

// Bearer returns stored token i as an Authorization header value.
func (p *Pool) Bearer(i int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stored[i]
}

// Stored returns the stored tokens as Authorization header values; the
// slice must not be modified.
func (p *Pool) Stored() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stored[:len(p.stored):len(p.stored)]
}

// Token returns stored token i.
func (p *Pool) Token(i int) string { return strings.TrimPrefix(p.Bearer(i), "Bearer ") }

// payload appends the claims of token i.
func (p *Pool) payload(dst []byte, i int) []byte {
	dst = append(dst, `{"iss":"`+Issuer+`","sub":"user-`...)
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, `","aud":"`+Audience+`","scope":"orders:read orders:write","iat":`...)
	dst = strconv.AppendInt(dst, p.Base-int64(i%3600), 10)
	dst = append(dst, `,"exp":`...)
	dst = strconv.AppendInt(dst, p.Base+12*3600, 10)
	dst = append(dst, `,"jti":"`...)
	dst = append(dst, p.Nonce...)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, int64(i), 10)
	return append(dst, `"}`...)
}

// appendSigned appends "Bearer <token i>" to dst; scratch is reused.
func (p *Pool) appendSigned(dst, scratch []byte, i int) ([]byte, []byte) {
	scratch = p.payload(scratch[:0], i)
	start := len(dst)
	dst = append(dst, "Bearer "...)
	dst = append(dst, p.header...)
	dst = append(dst, '.')
	dst = base64.RawURLEncoding.AppendEncode(dst, scratch)
	input := dst[start+len("Bearer "):]
	sig := p.sign(input)
	dst = append(dst, '.')
	dst = base64.RawURLEncoding.AppendEncode(dst, sig)
	return dst, scratch
}

// Sign returns token i (without "Bearer "). It signs; it does not store.
func (p *Pool) Sign(i int) string {
	b, _ := p.appendSigned(nil, nil, i)
	return string(b[len("Bearer "):])
}

func (p *Pool) sign(input []byte) []byte {
	switch k := p.signer.(type) {
	case nil:
		m := hmac.New(sha256.New, p.secret)
		m.Write(input)
		return m.Sum(nil)
	case *rsa.PrivateKey:
		h := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
		if err != nil {
			panic(err)
		}
		return sig
	case *ecdsa.PrivateKey:
		h := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, k, h[:])
		if err != nil {
			panic(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	case ed25519.PrivateKey:
		return ed25519.Sign(k, input)
	}
	panic("bench: unknown signer")
}

// Batch returns tokens [start, start+n) as Authorization header values,
// signed on every core into one fresh arena; nothing is stored.
func (p *Pool) Batch(start, n int) []string {
	workers := max(1, min(runtime.NumCPU(), n/64))
	parts := make([][]byte, workers)
	ends := make([][]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := start+n*w/workers, start+n*(w+1)/workers
		wg.Go(func() {
			first, scratch := p.appendSigned(nil, nil, lo) // sizes the arena: tokens differ by a few bytes
			buf := append(make([]byte, 0, (hi-lo)*(len(first)+8)), first...)
			e := make([]int, 1, hi-lo)
			e[0] = len(buf)
			for i := lo + 1; i < hi; i++ {
				buf, scratch = p.appendSigned(buf, scratch, i)
				e = append(e, len(buf))
			}
			parts[w], ends[w] = buf, e
		})
	}
	wg.Wait()
	out := make([]string, 0, n)
	for w, buf := range parts {
		prev := 0
		for _, e := range ends[w] {
			out = append(out, unsafe.String(&buf[prev], e-prev))
			prev = e
		}
	}
	return out
}

// Grow signs and stores tokens until the pool holds n.
func (p *Pool) Grow(n int) {
	p.mu.Lock()
	have := len(p.stored)
	p.mu.Unlock()
	if have >= n {
		return
	}
	batch := p.Batch(have, n-have)
	p.mu.Lock()
	defer p.mu.Unlock()
	size := 0
	for _, s := range batch {
		size += len(s)
	}
	arena := make([]byte, 0, len(p.arena)+size)
	arena = append(arena, p.arena...)
	offs := p.offs
	for _, s := range batch {
		arena = append(arena, s...)
		offs = append(offs, len(arena))
	}
	p.setArena(arena, offs)
}

func (p *Pool) setArena(arena []byte, offs []int) {
	p.arena, p.offs = arena, offs
	p.stored = make([]string, len(offs)-1)
	for i := range p.stored {
		p.stored[i] = unsafe.String(&arena[offs[i]], offs[i+1]-offs[i])
	}
}

const poolMagic = "jwtguard-bench-pool v1"

// Save writes the key and the stored tokens to path (the key is a
// throwaway made for the benchmarks).
func (p *Pool) Save(path string) error {
	var key []byte
	if p.signer != nil {
		der, err := x509.MarshalPKCS8PrivateKey(p.signer)
		if err != nil {
			return err
		}
		key = der
	} else {
		key = p.secret
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%s\n%s\n%d\n%s\n%s\n", poolMagic, p.Alg, p.KID, p.Base, p.Nonce, base64.StdEncoding.EncodeToString(key))
	for _, s := range p.Stored() {
		b.WriteString(strings.TrimPrefix(s, "Bearer "))
		b.WriteByte('\n')
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

// LoadPool reads a pool written by Save.
func LoadPool(path string) (*Pool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var head []string
	for len(head) < 6 && sc.Scan() {
		head = append(head, sc.Text())
	}
	if len(head) < 6 || head[0] != poolMagic {
		return nil, fmt.Errorf("%s: not a token pool", path)
	}
	p := &Pool{Alg: head[1], KID: head[2], Nonce: head[4]}
	if p.Base, err = strconv.ParseInt(head[3], 10, 64); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	key, err := base64.StdEncoding.DecodeString(head[5])
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if p.Alg == "HS256" {
		p.secret = key
	} else {
		k, err := x509.ParsePKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		p.signer = k.(crypto.Signer)
	}
	p.init()
	var arena []byte
	offs := []int{0}
	for sc.Scan() {
		arena = append(arena, "Bearer "...)
		arena = append(arena, sc.Bytes()...)
		offs = append(offs, len(arena))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	arena = append([]byte(nil), arena...) // drop the slack of append
	if len(offs) > 1 {
		p.setArena(arena, offs)
	}
	if time.Now().Unix() > p.Base+11*3600 {
		return nil, fmt.Errorf("%s: %w", path, errExpiring)
	}
	return p, nil
}

// errExpiring: a saved pool whose tokens expire within the hour.
var errExpiring = errors.New("the pool's tokens expire within the hour")

// PoolPath is where LoadOrCreate keeps alg's pool under dir.
func PoolPath(dir, alg string) string { return filepath.Join(dir, alg+".pool") }

// LoadOrCreate loads alg's pool from dir, or makes one with n tokens (and
// saves it there if dir is not "") when there is none or its tokens expire
// within the hour. A loaded pool smaller than n is grown and saved again.
func LoadOrCreate(dir, alg string, n int) (*Pool, error) {
	if dir != "" {
		p, err := LoadPool(PoolPath(dir, alg))
		if err == nil {
			if p.Len() >= n {
				return p, nil
			}
			p.Grow(n)
			return p, p.Save(PoolPath(dir, alg))
		}
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errExpiring) {
			return nil, err
		}
	}
	p, err := NewPool(alg)
	if err != nil {
		return nil, err
	}
	p.Grow(n)
	if dir != "" {
		return p, p.Save(PoolPath(dir, alg))
	}
	return p, nil
}

// JWKSPath is where ServeJWKS serves the pool's key set.
const JWKSPath = "/.well-known/jwks.json"

// JWKS renders the pool's public key as a JSON Web Key Set (RFC 7517).
func (p *Pool) JWKS() []byte {
	b64 := base64.RawURLEncoding.EncodeToString
	k := map[string]string{"kid": p.KID, "alg": p.Alg, "use": "sig"}
	switch pub := p.PublicKey().(type) {
	case *rsa.PublicKey:
		k["kty"], k["n"], k["e"] = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err)
		}
		k["kty"], k["crv"], k["x"], k["y"] = "EC", "P-256", b64(raw[1:33]), b64(raw[33:])
	case ed25519.PublicKey:
		k["kty"], k["crv"], k["x"] = "OKP", "Ed25519", b64(pub)
	default:
		return []byte(`{"keys":[]}`)
	}
	out, _ := json.Marshal(map[string]any{"keys": []any{k}})
	return out
}

// ServeJWKS starts a loopback HTTP server with the pool's key set at
// JWKSPath; close it with the returned server's Close.
func (p *Pool) ServeJWKS() *httptest.Server {
	jwks := p.JWKS()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != JWKSPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		_, _ = w.Write(jwks)
	}))
}
