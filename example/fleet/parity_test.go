package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/example/internal/demo"
	"github.com/jwtguard/jwtguard/issuer"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Where the plain demo's collector (demo.PlainMetrics) and jwtguardotel
// through the OTel Prometheus exporter differ on purpose. Anything else
// that differs in family names, types, label names or histogram buckets
// fails TestPlainMetricsMatchOTel.
var (
	// otelOnlyFamilies are families only the exporter writes.
	otelOnlyFamilies = map[string]string{
		"target_info": "the exporter's OTel resource (service.name, SDK version); the plain collector has no resource",
	}
	// otelOnlyLabels are labels the exporter puts on every series.
	otelOnlyLabels = map[string]string{
		"otel_scope_name":       "the instrumentation scope; the plain collector has one source",
		"otel_scope_version":    "ditto",
		"otel_scope_schema_url": "ditto",
	}
	// knownLabelDifferences are families whose label names differ, with
	// the labels the plain collector has.
	knownLabelDifferences = map[string]struct {
		plain []string
		why   string
	}{}
	// sameValues are families whose every series (labels and value) must
	// be equal after the same requests: those that timing cannot change.
	sameValues = []string{
		"jwtguard_decisions_total", "jwtguard_verified_cache_hits_total",
		"jwtguard_verified_cache_misses_total", "jwtguard_verified_cache_entries",
	}
)

// TestPlainMetricsMatchOTel drives the same requests through the in-memory
// demo's own collector and through jwtguardotel with the OTel Prometheus
// exporter (as this fleet serves it), and compares the two /metrics: the
// same families, of the same types, with the same label names and
// histogram buckets, and for the decision counters the same series and
// counts, so otel/grafana-dashboard.json and the README's alerts work on
// either.
func TestPlainMetricsMatchOTel(t *testing.T) {
	otelMetrics, err := prometheusMetrics()
	if err != nil {
		t.Fatal(err)
	}
	plain := scrapeAfterScript(t)
	viaOTel := scrapeAfterScript(t, demo.WithMetrics(otelMetrics))
	parser := expfmt.NewTextParser(model.LegacyValidation) // as Prometheus reads text/plain; version=0.0.4
	if _, err := parser.TextToMetricFamilies(strings.NewReader(plain)); err != nil {
		t.Fatalf("the plain collector's /metrics is not valid text format: %v\n%s", err, plain)
	}
	p, o := parseExposition(t, plain), parseExposition(t, viaOTel)

	for name, why := range otelOnlyFamilies {
		if _, ok := o[name]; !ok {
			t.Errorf("the exporter no longer writes %s (%s): remove it from otelOnlyFamilies", name, why)
		}
		delete(o, name)
	}
	if got, want := slices.Sorted(maps.Keys(p)), slices.Sorted(maps.Keys(o)); !slices.Equal(got, want) {
		t.Errorf("families differ:\nplain %q\notel  %q", got, want)
	}
	for name, pf := range p {
		of, ok := o[name]
		if !ok {
			continue
		}
		if pf.kind != of.kind {
			t.Errorf("%s: type %s, OTel %s", name, pf.kind, of.kind)
		}
		if !slices.Equal(pf.buckets, of.buckets) {
			t.Errorf("%s: buckets %q, OTel %q", name, pf.buckets, of.buckets)
		}
		for l := range otelOnlyLabels {
			if !slices.Contains(of.labels, l) {
				t.Errorf("%s: the exporter no longer adds %s: remove it from otelOnlyLabels", name, l)
			}
		}
		ol := slices.DeleteFunc(slices.Clone(of.labels), func(l string) bool { _, ok := otelOnlyLabels[l]; return ok })
		if known, ok := knownLabelDifferences[name]; ok {
			if !slices.Equal(pf.labels, known.plain) {
				t.Errorf("%s: labels %q, want %q", name, pf.labels, known.plain)
			}
			if slices.Equal(pf.labels, ol) {
				t.Errorf("%s: labels agree now: remove it from knownLabelDifferences", name)
			}
			continue
		}
		if !slices.Equal(pf.labels, ol) {
			t.Errorf("%s: labels %q, OTel %q", name, pf.labels, ol)
		}
	}
	for _, name := range sameValues {
		if p[name] == nil || o[name] == nil {
			t.Errorf("%s: missing (plain %v, otel %v)", name, p[name] != nil, o[name] != nil)
			continue
		}
		pv, ov := p[name].values, o[name].values
		if len(pv) == 0 || !maps.Equal(pv, ov) {
			t.Errorf("%s differs:\nplain %v\notel  %v", name, pv, ov)
		}
	}
}

// scrapeAfterScript runs a demo instance with opts (and a signing key of
// the test's own, to sign expired tokens and tokens for another
// audience), sends it the scripted requests and returns its /metrics,
// with its address replaced by "BASE".
func scrapeAfterScript(t *testing.T, opts ...demo.Option) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	opts = append(opts, demo.WithFleet(demo.Fleet{Issuer: base, SigningKey: key,
		Store: issuer.NewMemoryStore(nil), Revocations: issuer.LocalRevocations(jwtguard.NewRevocationList(nil))}))
	go func() { done <- demo.Run(ctx, ln, io.Discard, opts...) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	mint := func(opts ...issuer.Option) string {
		iss, err := issuer.New(base, append(opts, issuer.WithSigningKey(key))...)
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := iss.Issue(demo.User, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	r, err := http.PostForm(base+"/token", url.Values{"username": {demo.User}, "password": {demo.Password}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(r.Body).Decode(&tok)
	r.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", r.StatusCode, err)
	}
	hourAgo := func() time.Time { return time.Now().Add(-time.Hour) }
	for _, step := range []struct {
		token string
		want  int
	}{
		{tok.AccessToken, 200}, // verified in full
		{tok.AccessToken, 200}, // from the cache
		{mint(issuer.WithAudience(demo.APIAudience), issuer.WithClock(hourAgo)), 401},
		{mint(issuer.WithAudience("another-api")), 401},
		{"not.a.token", 401},
		{"", 401},
	} {
		req, _ := http.NewRequest("GET", base+"/api/me", nil)
		if step.token != "" {
			req.Header.Set("Authorization", "Bearer "+step.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != step.want {
			t.Fatalf("/api/me: %d, want %d", resp.StatusCode, step.want)
		}
	}
	return strings.ReplaceAll(body(get(t, base+"/metrics", nil)), base, "BASE")
}

type metricFamily struct {
	kind    string
	labels  []string          // label names of every series, sorted; le left out
	buckets []string          // histogram upper bounds as written
	values  map[string]string // series (its labels, otel_scope_* left out) → value
}

// parseExposition reads the text format into families by name.
func parseExposition(t *testing.T, text string) map[string]*metricFamily {
	t.Helper()
	sample := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelRE := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
	out := map[string]*metricFamily{}
	var cur *metricFamily
	var curName string
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, kind, _ := strings.Cut(f, " ")
			curName, cur = name, &metricFamily{kind: kind, values: map[string]string{}}
			out[name] = cur
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		m := sample.FindStringSubmatch(line)
		if m == nil || cur == nil || !strings.HasPrefix(m[1], curName) {
			t.Fatalf("unexpected line %q", line)
		}
		var kept []string
		for _, l := range labelRE.FindAllStringSubmatch(m[2], -1) {
			switch {
			case l[1] == "le":
				if !slices.Contains(cur.buckets, l[2]) {
					cur.buckets = append(cur.buckets, l[2])
				}
				continue
			case !slices.Contains(cur.labels, l[1]):
				cur.labels = append(cur.labels, l[1])
			}
			if _, ok := otelOnlyLabels[l[1]]; !ok {
				kept = append(kept, l[0])
			}
		}
		slices.Sort(cur.labels)
		if m[1] == curName {
			cur.values[strings.Join(kept, ",")] = m[3]
		}
	}
	return out
}
