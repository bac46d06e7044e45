package issuer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/jwtguard/jwtguard"
)

// ErrExtraClaim is returned by [Issuer.Issue] for extra claims it will not
// sign: see Issue for which.
var ErrExtraClaim = errors.New("issuer: extra claim refused")

// reservedClaims are the issuer's alone: the seven of RFC 7519 §4.1, the
// session id (sid) and the proof-of-possession key (cnf, RFC 7800), which
// would bind the token to a key the issuer never saw.
var reservedClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "cnf"}

// canonicalClaims may come from the caller, but spelled exactly so:
// jwtguard reads them by their exact name, encoding/json by folded name,
// and "SCOPE" would mean a scope to one reader and nothing to the other.
var canonicalClaims = []string{"scope", "scp"}

// maxDepth is the nesting jwtguard accepts in a claims set.
const maxDepth = 16

// checkExtra refuses extra names that fold (strings.EqualFold, simple
// Unicode folding: "ISS", "ſub" with U+017F) to a reserved claim, or to a
// canonical one without being it. encoding/json matches struct fields by
// folded name, so an application decoding the claims could otherwise read
// the extra claim where it expects the issuer's.
func checkExtra(extra map[string]any) error {
	for name := range extra {
		for _, r := range reservedClaims {
			if strings.EqualFold(name, r) {
				return fmt.Errorf("%w: %q is the issuer's %q claim", ErrExtraClaim, name, r)
			}
		}
		for _, c := range canonicalClaims {
			if name != c && strings.EqualFold(name, c) {
				return fmt.Errorf("%w: %q must be spelled %q", ErrExtraClaim, name, c)
			}
		}
	}
	return nil
}

// checkPayload refuses a claims set that jwtguard would refuse to read: an
// object, at any depth, with two member names that fold together (two
// readers could disagree on which one counts), nesting deeper than
// maxDepth, or anything else the guard's own strict reader refuses (a
// json.RawMessage extra can carry a lone surrogate escape or invalid UTF-8,
// which encoding/json lets through). payload comes from json.Marshal, so it
// is valid JSON to encoding/json.
func checkPayload(payload []byte) error {
	if _, err := jwtguard.ClaimsFromJSON(payload); err != nil {
		return fmt.Errorf("%w: jwtguard cannot read the claims: %v", ErrExtraClaim, err)
	}
	type level struct {
		names  map[string]struct{} // folded member names; nil for an array
		atName bool                // an object expecting a member name or '}'
	}
	var stack []level
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].names != nil {
			stack[n-1].atName = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n := len(stack); n > 0 && stack[n-1].atName {
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			name := foldKey(tok.(string))
			if _, dup := stack[n-1].names[name]; dup {
				return fmt.Errorf("%w: two member names fold to %q", ErrExtraClaim, name)
			}
			stack[n-1].names[name] = struct{}{}
			stack[n-1].atName = false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) == maxDepth {
				return fmt.Errorf("%w: nested deeper than %d levels", ErrExtraClaim, maxDepth)
			}
			if tok == json.Delim('{') {
				stack = append(stack, level{names: map[string]struct{}{}, atName: true})
			} else {
				stack = append(stack, level{})
			}
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// foldKey maps a name to a key such that two names get the same key
// exactly when strings.EqualFold holds for them: each rune becomes the
// smallest rune of its simple-folding orbit.
func foldKey(name string) string {
	out := make([]rune, 0, len(name))
	for _, r := range name {
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		out = append(out, low)
	}
	return string(out)
}
