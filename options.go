package jwtguard

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/jwtguard/jwtguard/internal/jose"
)

// An Option configures a [Guard]; [New] checks them all. Options that set
// one value (WithRealm, WithLeeway, WithClock, WithLogger, …) keep the last
// one given; options that list things (WithIssuer, WithAudience,
// WithAlgorithms, the key options, WithExtractors, WithValidator, …)
// add to what earlier ones gave; WithJWKS, WithIssuerDiscovery and
// WithIssuerResolver given twice are errors.
type Option interface {
	applyGuard(*config) error
}

// An IssuerOption configures one trust anchor: its keys and its policy.
// Given to [New], it configures the guard-level anchor, and its policy
// (audience, algorithms, leeway, typ, age limits) is the default of every
// other anchor — except WithoutAudienceCheck, which applies to its own
// anchor only. Given to [WithTrustedIssuer], or returned by an
// [IssuerResolver], it configures that anchor alone.
type IssuerOption interface {
	Option
	applyIssuer(*anchorConfig) error
}

// A FetchOption is both an [Option] and a [KeySetOption]: it sets how keys
// are fetched, for a guard or a shared [KeySet].
type FetchOption interface {
	Option
	KeySetOption
}

type fetchOption func(*keySetConfig) error

func (o fetchOption) applyGuard(c *config) error        { return o(&c.keySetConfig) }
func (o fetchOption) applyKeySet(k *keySetConfig) error { return o(k) }

type guardOption func(*config) error

func (o guardOption) applyGuard(c *config) error { return o(c) }

type issuerOption func(*anchorConfig) error

func (o issuerOption) applyGuard(c *config) error         { return o(&c.anchorConfig) }
func (o issuerOption) applyIssuer(ic *anchorConfig) error { return o(ic) }

// config is everything New needs. Issuer-level settings live in issuerConfig
// so that several trusted issuers can each have their own.
type config struct {
	anchorConfig
	trusted   []anchorConfig   // from WithTrustedIssuer
	templates []templateConfig // from WithIssuerTemplate

	sources          []Extractor
	optional         bool
	passPreflight    bool
	realm            string
	maxTokenSize     int
	keySetConfig     // http client, key set settings, fetch hook, logger, clock
	errorHandler     func(http.ResponseWriter, *http.Request, error)
	validators       []func(context.Context, *Claims) error
	waitForKeys      bool
	noIssuerCheck    bool
	resolver         IssuerResolver
	resolverSettings ResolverSettings
	noCrossOrigin    bool
	trustedOrigins   []string
	verifiedCacheMax int
	decryptKeys      []*jose.DecryptKey
	allowPlain       bool
	keepRaw          bool
	revokers         []Revoker
	sender           senderConfig // DPoP and certificate binding (dpop.go, mtls.go)
}

// issuerConfig is the policy of one trust anchor.
type anchorConfig struct {
	issuers    []string
	audiences  []string
	algorithms []string
	leeway     time.Duration
	leewaySet  bool
	types      []string
	jwksURL    string
	discovery  string // issuer whose metadata names the JWKS
	static     []*jose.Key
	noAudience bool
	// Optional limits on token age; 0: none.
	maxAge, maxLifetime time.Duration
	required            []string // claims that must be present
	jwksHosts           []string // hosts a discovered jwks_uri may name besides the issuer's
	keySet              *KeySet  // a key set shared with other guards
	tenants             []string // WithTenants, for templates
}

// equal reports whether two anchors are configured alike (a resolver's
// repeated answer keeps its keys and cached tokens). It lists every field
// above: TestAnchorConfigEqualSeesEveryField fails when one is missing.
func (ic *anchorConfig) equal(o *anchorConfig) bool {
	return slices.Equal(ic.issuers, o.issuers) && slices.Equal(ic.audiences, o.audiences) &&
		slices.Equal(ic.algorithms, o.algorithms) && ic.leeway == o.leeway && ic.leewaySet == o.leewaySet &&
		slices.Equal(ic.types, o.types) && ic.jwksURL == o.jwksURL && ic.discovery == o.discovery &&
		slices.EqualFunc(ic.static, o.static, (*jose.Key).Equal) && ic.noAudience == o.noAudience &&
		ic.maxAge == o.maxAge && ic.maxLifetime == o.maxLifetime &&
		slices.Equal(ic.required, o.required) && slices.Equal(ic.jwksHosts, o.jwksHosts) && ic.keySet == o.keySet && slices.Equal(ic.tenants, o.tenants)
}

// hasKeys reports whether the anchor names where its keys come from.
func (ic *anchorConfig) hasKeys() bool {
	return ic.jwksURL != "" || ic.discovery != "" || len(ic.static) > 0 || ic.keySet != nil
}

// WithJWKS verifies tokens with the keys published at url (a JWK Set). The
// set is cached and refreshed as described in [KeySetSettings]. The URL must
// be https, except on loopback.
func WithJWKS(url string) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		if url == "" {
			return errors.New("WithJWKS: empty URL (an unset environment variable?)")
		}
		if c.jwksURL != "" {
			return errors.New("WithJWKS given twice")
		}
		c.jwksURL = url
		return nil
	})
}

// WithIssuer sets the accepted iss values, compared exactly. Required,
// unless [WithoutIssuerCheck] is used.
func WithIssuer(issuers ...string) Option {
	return guardOption(func(c *config) error {
		for _, iss := range issuers {
			if iss == "" {
				return errors.New("WithIssuer: empty issuer (an unset environment variable?)")
			}
		}
		c.issuers = append(c.issuers, issuers...)
		return nil
	})
}

// WithAudience sets the accepted audiences: a token is accepted when its aud
// names any of them. Required, unless [WithoutAudienceCheck] is used.
func WithAudience(audiences ...string) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		for _, a := range audiences {
			if a == "" {
				return errors.New("WithAudience: empty audience (an unset environment variable?)")
			}
		}
		c.audiences = append(c.audiences, audiences...)
		return nil
	})
}

// WithoutAudienceCheck accepts tokens whatever their aud. Only safe when no
// other service trusts the same issuer, which is rarely true of an IdP.
// It applies to the anchor it is given for: the guard-level one, or one
// WithTrustedIssuer or resolver answer; it is not inherited by the others.
func WithoutAudienceCheck() IssuerOption {
	return issuerOption(func(c *anchorConfig) error { c.noAudience = true; return nil })
}

// WithoutIssuerCheck accepts tokens whatever their iss. Only safe when the
// keys belong to a single issuer.
func WithoutIssuerCheck() Option {
	return guardOption(func(c *config) error { c.noIssuerCheck = true; return nil })
}

// WithAlgorithms restricts the accepted signing algorithms. Default: every
// supported algorithm, each usable only with a key of its own type (RS*,
// PS*: RSA ≥ 2048 bits; ES256/384/512: P-256/384/521; EdDSA, Ed25519;
// HS256/384/512: a secret from [WithHMACSecret] only). "none" is never accepted.
func WithAlgorithms(algs ...string) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		for _, a := range algs {
			if !jose.KnownAlgorithm(a) {
				return fmt.Errorf("unsupported algorithm %q", a)
			}
		}
		c.algorithms = append(c.algorithms, algs...)
		return nil
	})
}

// WithMaxTokenAge refuses tokens issued more than d ago (by iat, with the
// leeway), and makes iat required. Like panva/jose's maxTokenAge: it bounds
// how long a token stays usable whatever exp it claims. Default: no limit.
func WithMaxTokenAge(d time.Duration) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		if d <= 0 {
			return errors.New("max token age must be positive")
		}
		c.maxAge = d
		return nil
	})
}

// WithMaxTokenLifetime refuses tokens whose exp lies more than d after
// their iat, and makes iat required: an issuer misconfigured to mint
// day-long tokens is caught. Default: no limit.
func WithMaxTokenLifetime(d time.Duration) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		if d <= 0 {
			return errors.New("max token lifetime must be positive")
		}
		c.maxLifetime = d
		return nil
	})
}

// WithRequiredClaims refuses tokens without each named top-level claim
// (any value but null), e.g. "sub", "jti" or "client_id". exp is always
// required; iss and aud are when checked. Default: no others.
func WithRequiredClaims(names ...string) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		for _, n := range names {
			if n == "" {
				return errors.New("empty claim name")
			}
		}
		c.required = append(c.required, names...)
		return nil
	})
}

// WithLeeway sets the clock skew allowed on exp, nbf and iat. Default: 30 seconds.
func WithLeeway(d time.Duration) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		if d < 0 || d > 10*time.Minute {
			return errors.New("leeway must be between 0 and 10 minutes")
		}
		c.leeway, c.leewaySet = d, true
		return nil
	})
}

// WithRequiredType requires the typ header to be one of types, compared
// without case and without an "application/" prefix. Use "at+jwt" for RFC
// 9068 access tokens; this keeps ID tokens from the same issuer out.
// Default: any typ.
func WithRequiredType(types ...string) IssuerOption {
	return issuerOption(func(c *anchorConfig) error { c.types = append(c.types, types...); return nil })
}

// WithHMACSecret verifies HS256/HS384/HS512 tokens with secret. It must be
// at least 32 bytes (48 for HS384, 64 for HS512). Default: no secret, so
// no HMAC token is ever accepted.
func WithHMACSecret(secret []byte) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		k, err := jose.NewKey("", "", secret)
		if err != nil {
			return err
		}
		c.static = append(c.static, k)
		return nil
	})
}

// WithPublicKey verifies tokens with key, an *rsa.PublicKey,
// *ecdsa.PublicKey or ed25519.PublicKey. An empty kid matches any token.
func WithPublicKey(kid string, key crypto.PublicKey) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		if _, ok := key.([]byte); ok {
			return errors.New("WithPublicKey takes a public key; use WithHMACSecret for secrets")
		}
		k, err := jose.NewKey(kid, "", key)
		if err != nil {
			return err
		}
		c.static = append(c.static, k)
		return nil
	})
}

// WithPEM verifies tokens with the public keys (or certificates) in PEM data.
func WithPEM(data []byte) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		keys, err := jose.ParsePEM(data)
		if err != nil {
			return err
		}
		for _, raw := range keys {
			k, err := jose.NewKey("", "", raw)
			if err != nil {
				return err
			}
			c.static = append(c.static, k)
		}
		return nil
	})
}

// WithJWKSet verifies tokens with the keys of a JWK Set document held in
// memory. Symmetric ("oct") keys are accepted here, unlike in a fetched set.
func WithJWKSet(doc []byte) IssuerOption {
	return issuerOption(func(c *anchorConfig) error {
		set, err := jose.ParseStaticJWKSet(doc)
		if err != nil {
			return err
		}
		c.static = append(c.static, set.Keys...)
		return nil
	})
}

// WithExtractors sets where tokens are looked for. Every source is
// checked: a token in more than one is refused (RFC 6750 §2), and an
// invalid token never falls back to another source.
// Default: [FromAuthorizationHeader] alone.
func WithExtractors(sources ...Extractor) Option {
	return guardOption(func(c *config) error {
		for _, s := range sources {
			if s.extract == nil {
				return errors.New("zero Extractor")
			}
		}
		c.sources = append(c.sources, sources...)
		return nil
	})
}

// WithCredentialsOptional lets requests without a token through, without
// claims in their context. A token that is present must still be valid.
// Default: a token is required.
func WithCredentialsOptional() Option {
	return guardOption(func(c *config) error { c.optional = true; return nil })
}

// InsecurePassUnauthenticatedPreflight lets CORS preflight requests
// (OPTIONS with Access-Control-Request-Method) through to the wrapped
// handler without a token, as they come from browsers without credentials.
// A handler that does not check the method then runs unauthenticated, so
// the better place for CORS is a middleware outside the guard (rs/cors,
// say), which answers preflights itself.
// Default: the guard never calls the next handler without a valid token.
func InsecurePassUnauthenticatedPreflight() Option {
	return guardOption(func(c *config) error { c.passPreflight = true; return nil })
}

// WithRealm sets the realm of WWW-Authenticate challenges. Default: "api".
func WithRealm(realm string) Option {
	return guardOption(func(c *config) error { c.realm = realm; return nil })
}

// WithMaxTokenSize caps the token length in bytes. Default: 8 KiB.
func WithMaxTokenSize(n int) Option {
	return guardOption(func(c *config) error {
		if n < 64 || n > 1<<20 {
			return errors.New("max token size must be between 64 bytes and 1 MiB")
		}
		c.maxTokenSize = n
		return nil
	})
}

// WithClock sets the time source for exp, nbf, iat and the key cache.
// Default: time.Now.
func WithClock(now func() time.Time) FetchOption {
	return fetchOption(func(c *keySetConfig) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		c.clock = now
		return nil
	})
}

// WithLogger logs refused requests at Debug and key-fetch failures at Warn.
// Tokens and Authorization headers are never logged. Default: silent.
func WithLogger(l *slog.Logger) FetchOption {
	return fetchOption(func(c *keySetConfig) error { c.logger = l; return nil })
}

// WithErrorHandler replaces the response written when a request is refused.
// err is an [*Error]. Default: an RFC 6750 challenge and a JSON body.
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return guardOption(func(c *config) error { c.errorHandler = h; return nil })
}

// WithValidator adds a check run on every verified token, after the
// built-in ones, including tokens served from the verified-token cache:
// the place for revocation lists and custom claim rules. A non-nil error
// refuses the request with 401 invalid_token (or the status of an [*Error]).
func WithValidator(v func(ctx context.Context, c *Claims) error) Option {
	return guardOption(func(c *config) error { c.validators = append(c.validators, v); return nil })
}

// WithHTTPClient fetches keys with client (for proxies or custom CAs).
// Redirects are limited to the key URL's origin whatever the client says.
// Default: a client over http.DefaultTransport.
func WithHTTPClient(client *http.Client) FetchOption {
	return fetchOption(func(c *keySetConfig) error {
		if client != nil {
			if t, ok := client.Transport.(*http.Transport); ok && t == nil {
				return errors.New("WithHTTPClient: the client's Transport is a nil *http.Transport")
			}
		}
		c.httpClient = client
		return nil
	})
}

// InsecureAllowHTTPKeys allows key URLs over plain http on any host. Keys
// fetched over http can be replaced by anyone on the path.
// Default: https only, except loopback.
func InsecureAllowHTTPKeys() FetchOption {
	return fetchOption(func(c *keySetConfig) error { c.allowHTTPKeys = true; return nil })
}

// WithKeySetSettings tunes fetched key sets; see [KeySetSettings] for defaults.
func WithKeySetSettings(s KeySetSettings) FetchOption {
	return fetchOption(func(c *keySetConfig) error { c.cache = s; return nil })
}

// WithKeyFetchErrorHook calls f after every failed key fetch, for metrics or
// alerts. Default: none.
func WithKeyFetchErrorHook(f func(url string, err error)) FetchOption {
	return fetchOption(func(c *keySetConfig) error { c.onError = f; return nil })
}

// WithKeysAtStart makes [New] wait for every key set to load (bounded by
// ctx) and fail if one cannot. Default: New returns at once and keys load in
// the background; see [Guard.Ready].
func WithKeysAtStart() Option {
	return guardOption(func(c *config) error { c.waitForKeys = true; return nil })
}

// defaultConfig holds every default in one place; options override it.
func defaultConfig() config {
	return config{
		anchorConfig:     anchorConfig{leeway: defaultLeeway},
		realm:            defaultRealm,
		maxTokenSize:     defaultMaxTokenSize,
		keySetConfig:     keySetConfig{clock: time.Now},
		verifiedCacheMax: defaultCacheEntries,
	}
}

// fetchConfig is how this guard's key sources fetch.
func (c *config) fetchConfig(now func() time.Time, log *slog.Logger) fetchConfig {
	s := c.cache
	s.fill()
	return fetchConfig{client: safeClient(c.httpClient), settings: s, allowHTTP: c.allowHTTPKeys, now: now, log: log, onError: c.onError, obs: c.observer}
}

func (c *config) validate() error {
	if err := c.sender.validate(); err != nil { // dpop.go
		return err
	}
	top := &c.anchorConfig
	if len(top.tenants) > 0 || slices.ContainsFunc(c.trusted, func(t anchorConfig) bool { return len(t.tenants) > 0 }) {
		return errTemplateTenants
	}
	for _, t := range c.templates {
		if len(t.audiences) == 0 && !t.noAudience && len(top.audiences) == 0 {
			return fmt.Errorf("no audience for issuer template %q: use WithAudience, or WithoutAudienceCheck inside WithIssuerTemplate", t.prefix+tenantPlaceholder+t.suffix)
		}
	}
	if c.noIssuerCheck && len(c.templates) > 0 {
		return errors.New("WithoutIssuerCheck cannot be combined with WithIssuerTemplate")
	}
	if !top.hasKeys() && len(c.trusted) == 0 && len(c.templates) == 0 && c.resolver == nil {
		return errors.New("no keys: use WithJWKS, WithIssuerDiscovery, WithPublicKey, WithPEM, WithJWKSet, WithHMACSecret or WithTrustedIssuer")
	}
	if top.hasKeys() || len(top.issuers) > 0 {
		if !top.hasKeys() {
			return fmt.Errorf("no keys for issuer %q", top.issuers[0])
		}
		if len(top.issuers) == 0 && !c.noIssuerCheck {
			return errors.New("no issuer: use WithIssuer, or WithoutIssuerCheck")
		}
		if len(top.audiences) == 0 && !top.noAudience {
			return errors.New("no audience: use WithAudience, or WithoutAudienceCheck")
		}
	}
	for _, iss := range top.issuers {
		if top.discovery != "" && iss != top.discovery {
			return fmt.Errorf("WithIssuer(%q) and WithIssuerDiscovery(%q) conflict: discovery trusts exactly its own issuer; use WithTrustedIssuer for each issuer", iss, top.discovery)
		}
	}
	if len(top.jwksHosts) > 0 && top.discovery == "" {
		return errors.New("WithDiscoveredJWKSHosts needs WithIssuerDiscovery")
	}
	for _, t := range c.trusted {
		// A guard-level audience is inherited; a guard-level opt-out is not:
		// each issuer that skips the check must say so itself.
		if len(t.audiences) == 0 && !t.noAudience && len(top.audiences) == 0 {
			return fmt.Errorf("no audience for issuer %q: use WithAudience (in WithTrustedIssuer or for the guard), or WithoutAudienceCheck inside WithTrustedIssuer", t.issuers[0])
		}
		if len(t.jwksHosts) > 0 && t.discovery == "" {
			return fmt.Errorf("issuer %q: WithDiscoveredJWKSHosts needs WithIssuerDiscovery", t.issuers[0])
		}
	}
	if c.noIssuerCheck && (len(c.trusted) > 0 || c.resolver != nil) {
		return errors.New("WithoutIssuerCheck cannot be combined with WithTrustedIssuer or WithIssuerResolver")
	}
	if slices.ContainsFunc(c.validators, func(v func(context.Context, *Claims) error) bool { return v == nil }) {
		return errors.New("nil validator")
	}
	// Combinations where one option undoes or ignores another are mistakes.
	if c.allowPlain && len(c.decryptKeys) == 0 {
		return errors.New("InsecureAllowUnencryptedTokens without WithDecryptionKey does nothing")
	}
	if c.noCrossOrigin && len(c.trustedOrigins) > 0 {
		return errors.New("WithTrustedOrigins with WithoutCrossOriginCheck does nothing: the check is off")
	}
	// Two decryption keys for one algorithm must be told apart by kid, or a
	// token would have to be tried against both.
	for i, a := range c.decryptKeys {
		for _, b := range c.decryptKeys[:i] {
			shared := slices.ContainsFunc(a.Algs, func(alg string) bool { return slices.Contains(b.Algs, alg) }) && a.Enc == b.Enc
			if shared && (a.Kid == "" || b.Kid == "" || a.Kid == b.Kid) {
				return errors.New("two decryption keys for the same algorithm need distinct kids")
			}
		}
	}
	return nil
}

// WithTrustedOrigins lets cookie-authenticated unsafe requests come from
// these origins ("https://app.example.com") as well as the same origin.
func WithTrustedOrigins(origins ...string) Option {
	return guardOption(func(c *config) error { c.trustedOrigins = append(c.trustedOrigins, origins...); return nil })
}

// WithoutCrossOriginCheck turns off the CSRF defence for cookie-borne
// tokens. Only safe when every unsafe route has a CSRF defence of its own.
// Default: on (net/http's CrossOriginProtection, using Sec-Fetch-Site and Origin).
func WithoutCrossOriginCheck() Option {
	return guardOption(func(c *config) error { c.noCrossOrigin = true; return nil })
}

// WithVerifiedTokenCache sets how many verified tokens are remembered, so
// a client that reuses its access token skips the signature check; 0
// turns the cache off (every token verified on every request). An HMAC
// token enters the cache on its second verification (verifying it again
// costs less than keeping a token used once); others on their first. A cached
// token is still checked on every use against exp/nbf (same clock and
// leeway) and any maximum age, against the key set (a removed key drops
// its tokens) and its trust anchor (a resolver's approval), and by every
// Revoker and WithValidator. Tokens over 4 KiB are not cached. Default:
// 10,000 entries (about 23 MB at most).
func WithVerifiedTokenCache(entries int) Option {
	return guardOption(func(c *config) error {
		if entries < 0 || entries > maxCacheEntries {
			return fmt.Errorf("WithVerifiedTokenCache: entries must be 0 (off) to %d", maxCacheEntries)
		}
		c.verifiedCacheMax = entries
		return nil
	})
}

// WithRawToken keeps the token string with its verified claims, for
// handlers that exchange or forward it ([Claims.RawToken]). The token is a
// credential: do not log it. Default: off.
func WithRawToken() Option {
	return guardOption(func(c *config) error { c.keepRaw = true; return nil })
}

// WithDecryptionKey accepts encrypted tokens (compact JWE, RFC 7516) that
// carry a signed JWT (cty "JWT", RFC 7519 §5.2), opened with key: an
// *rsa.PrivateKey (RSA-OAEP, -256, -384, -512), an *ecdsa.PrivateKey
// (ECDH-ES, ECDH-ES+A128/192/256KW), or a []byte AES key (A128/192/256KW,
// A128/192/256GCMKW). alg pins one key-management algorithm; "" allows every
// one that fits the key. For direct encryption pass the content encryption
// as alg ("A256GCM") and the key as []byte. RSA1_5, PBES2 and compressed
// tokens are always refused. The inner token is then verified as usual.
// Once a decryption key is set, plain signed tokens are refused unless
// InsecureAllowUnencryptedTokens is also given. Default: no encryption.
func WithDecryptionKey(kid, alg string, key any) Option {
	return guardOption(func(c *config) error {
		k, err := jose.NewDecryptKey(kid, alg, key)
		if err != nil {
			return err
		}
		c.decryptKeys = append(c.decryptKeys, k)
		return nil
	})
}

// InsecureAllowUnencryptedTokens accepts plain signed tokens as well as
// encrypted ones when WithDecryptionKey is set, giving up the
// confidentiality that encryption was asked for. For migrations.
func InsecureAllowUnencryptedTokens() Option {
	return guardOption(func(c *config) error { c.allowPlain = true; return nil })
}
