package jose

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

func strictRef(seg string) ([]byte, bool) {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, false
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	return b, err == nil
}

func TestReviewDecodeIntoStrict(t *testing.T) {
	t.Parallel()
	alpha := "AQgw_-z9\r\n=+/ .%\x00\xff"
	r := rand.New(rand.NewPCG(7, 8))
	for it := 0; it < 300000; it++ {
		var sb strings.Builder
		for range r.IntN(14) {
			sb.WriteByte(alpha[r.IntN(len(alpha))])
		}
		seg := sb.String()
		want, ok := strictRef(seg)
		dst := make([]byte, b64.DecodedLen(len(seg))+8)
		n, got := decodeInto(dst, seg)
		if got != ok || (ok && !bytes.Equal(dst[:n], want)) {
			t.Fatalf("%q: decodeInto %v %x, reference %v %x", seg, got, dst[:n], ok, want)
		}
	}
}

// A memoized header is served only for the very same header text; a
// payload or signature segment is still decoded strictly.
func TestReviewHeaderMemo(t *testing.T) {
	t.Parallel()
	var memo HeaderMemo
	enc := base64.RawURLEncoding.EncodeToString
	h1 := enc([]byte(`{"alg":"HS256","kid":"a"}`))
	h2 := enc([]byte(`{"alg":"none","kid":"a"}`))
	p := enc([]byte(`{"sub":"x"}`))
	var tok Token
	if _, err := ParseCompactInto(h1+"."+p+".c2ln", &memo, &tok, nil); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{h1 + "." + p + "\n.c2ln", h1 + "." + p + ".c2l\nn", h1 + "\n." + p + ".c2ln", h1 + "." + p + ".c2ln.", h1 + "." + p + ".c2m"} {
		if _, err := ParseCompactInto(bad, &memo, &tok, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseCompactInto(h2+"."+p+".c2ln", &memo, &tok, nil); err != nil || tok.Header.Alg != "none" {
		t.Fatalf("%v %+v", err, tok.Header)
	}
	if _, err := ParseCompactInto(h1+"."+p+".c2ln", &memo, &tok, nil); err != nil || tok.Header.Alg != "HS256" || tok.Header.Kid != "a" {
		t.Fatalf("%v %+v", err, tok.Header)
	}
}
