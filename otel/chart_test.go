package jwtguardotel_test

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	jwtguardotel "github.com/jwtguard/jwtguard/otel"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

var chart = flag.String("chart", "", "write an SVG bar chart of the scripted run's metrics to this file")

// TestChart draws the scripted run's metrics, as the SDK's ManualReader
// collected them, as a bar chart for the README:
//
//	go test -run TestChart -chart decisions.svg
func TestChart(t *testing.T) {
	if *chart == "" {
		t.Skip("-chart not given")
	}
	r := scripted(t)
	type bar struct {
		label string
		value int64
		color string
	}
	var bars []bar
	add := func(name string, key func(string) string, color func(string) string) {
		got := map[string]int64{}
		for _, sm := range r.metrics.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != name {
					continue
				}
				if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
					for _, dp := range sum.DataPoints {
						got[key(label(dp.Attributes))] += dp.Value
					}
				}
			}
		}
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			bars = append(bars, bar{k, got[k], color(k)})
		}
	}
	add(jwtguardotel.MetricDecisions, func(l string) string {
		if r := attr(l, "error.type"); r != "" {
			return "decision: refused, " + r
		}
		return "decision: " + attr(l, "jwtguard.outcome")
	}, func(k string) string {
		if strings.Contains(k, "refused") {
			return "#d9534f"
		}
		return "#5cb85c"
	})
	add(jwtguardotel.MetricCacheHits, func(string) string { return "cache: hit" }, func(string) string { return "#5bc0de" })
	add(jwtguardotel.MetricCacheMisses, func(string) string { return "cache: miss" }, func(string) string { return "#5bc0de" })
	add(jwtguardotel.MetricKeyFetches, func(l string) string {
		return "key fetch: " + attr(l, "jwtguard.result") + " (HTTP " + attr(l, "http.response.status_code") + ")"
	}, func(k string) string {
		if strings.Contains(k, ": ok") {
			return "#337ab7"
		}
		return "#f0ad4e"
	})
	add(jwtguardotel.MetricKeySetChanges, func(l string) string { return "key set: " + attr(l, "jwtguard.key_set.state") },
		func(string) string { return "#777777" })

	const rowH, labelW, barW, top = 26, 260, 360, 50
	var max int64 = 1
	for _, b := range bars {
		max = maxOf(max, b.value)
	}
	var svg strings.Builder
	h := top + len(bars)*rowH + 30
	fmt.Fprintf(&svg, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="13">`+"\n", labelW+barW+60, h)
	fmt.Fprintf(&svg, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&svg, `<text x="10" y="22" font-size="15" font-weight="bold">jwtguard metrics after a scripted run (OTel SDK ManualReader)</text>`+"\n")
	fmt.Fprintf(&svg, `<text x="10" y="40" fill="#555">valid, cache hit, expired, wrong aud, JWKS outage (stale, then unusable), recovery</text>`+"\n")
	for i, b := range bars {
		y := top + i*rowH
		w := int(int64(barW) * b.value / max)
		fmt.Fprintf(&svg, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-8, y+17, b.label)
		fmt.Fprintf(&svg, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", labelW, y+4, w, rowH-8, b.color)
		fmt.Fprintf(&svg, `<text x="%d" y="%d">%d</text>`+"\n", labelW+w+6, y+17, b.value)
	}
	svg.WriteString("</svg>\n")
	if err := os.WriteFile(*chart, []byte(svg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func maxOf(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
