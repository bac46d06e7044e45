package jwtguard_test

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/jwtguard/jwtguard"
)

// changelogReleaseHeading matches a released (or about to be released) version's
// heading in CHANGELOG.md, "## [1.2.3] - 2026-01-02"; "## [Unreleased]" does
// not match.
var changelogReleaseHeading = regexp.MustCompile(`^## \[(\d+)\.(\d+)\.(\d+)\]`)

// TestVersionMatchesChangelog keeps Version and CHANGELOG.md from drifting:
// Version must be the newest version heading, and the headings must run
// newest first (Keep a Changelog), so "newest" and "first" are the same.
func TestVersionMatchesChangelog(t *testing.T) {
	f, err := os.Open("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	type version struct {
		text string
		num  [3]int
	}
	var versions []version
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := changelogReleaseHeading.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v := version{text: m[1] + "." + m[2] + "." + m[3]}
		for i := range v.num {
			n, err := strconv.Atoi(m[i+1])
			if err != nil {
				t.Fatalf("CHANGELOG.md: heading %q: %v", sc.Text(), err)
			}
			v.num[i] = n
		}
		versions = append(versions, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(versions) == 0 {
		t.Fatal("CHANGELOG.md has no \"## [x.y.z]\" heading")
	}
	for i := 1; i < len(versions); i++ {
		prev, cur := versions[i-1], versions[i]
		if !changelogVersionLess(cur.num, prev.num) {
			t.Errorf("CHANGELOG.md: [%s] comes after [%s]; headings must run newest first", cur.text, prev.text)
		}
	}
	if newest := versions[0].text; jwtguard.Version != newest {
		t.Errorf("Version = %q, but the newest CHANGELOG.md heading is [%s]; update both when releasing (RELEASING.md)", jwtguard.Version, newest)
	}
}

func changelogVersionLess(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
