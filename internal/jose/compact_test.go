package jose

import (
	"strings"
	"testing"
)

// TestParseCompactRefusesLineBreaks: encoding/base64 skips \r and \n, so
// a token with a line break would otherwise decode like its unbroken twin.
func TestParseCompactRefusesLineBreaks(t *testing.T) {
	t.Parallel()
	const token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"
	if _, err := ParseCompact(token); err != nil {
		t.Fatalf("the unbroken token: %v", err)
	}
	for _, at := range []int{4, strings.IndexByte(token, '.') + 3, len(token) - 2} {
		for _, brk := range []string{"\n", "\r", "\r\n"} {
			bad := token[:at] + brk + token[at:]
			if _, err := ParseCompact(bad); err == nil || !strings.Contains(err.Error(), "is not base64url") {
				t.Errorf("%q: err = %v, want a byte that is not base64url", bad, err)
			}
		}
	}
}

// TestHeaderMemo: a remembered header reads the same as a fresh one, owns
// its strings, and a different header of the same slot is read afresh.
func TestHeaderMemo(t *testing.T) {
	t.Parallel()
	var memo HeaderMemo
	tokens := []string{
		"eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhIn0.c2ln",
		"eyJhbGciOiJSUzI1NiIsImtpZCI6ImsyIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhIn0.c2ln",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.c2ln",
	}
	for round := range 3 {
		for _, tok := range tokens {
			want, err := ParseCompact(tok)
			if err != nil {
				t.Fatal(err)
			}
			var got Token
			if _, err := ParseCompactInto(tok, &memo, &got, nil); err != nil {
				t.Fatal(err)
			}
			if got.Header != want.Header || got.SigningInput != want.SigningInput || string(got.Payload) != string(want.Payload) {
				t.Errorf("round %d: memo read %+v, want %+v", round, got, *want)
			}
		}
	}
	// A header that differs in one byte is never taken for a remembered one.
	var got Token
	if _, err := ParseCompactInto("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIm0.eyJzdWIiOiJhIn0.c2ln", &memo, &got, nil); err == nil && got.Header.Kid == "k1" && got.Header.Typ == "JWT" {
		t.Errorf("a changed header read as the remembered one: %+v", got.Header)
	}
}

// TestDecryptRefusesLineBreaks: a JWE has one spelling too.
func TestDecryptRefusesLineBreaks(t *testing.T) {
	t.Parallel()
	const jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkExMjhHQ00ifQ.a2V5.aXZpdml2aXZpdml2.Y2lwaGVy.dGFndGFndGFndGFn"
	if _, err := Decrypt(jwe, nil, true); err != nil && strings.Contains(err.Error(), "base64url") {
		t.Fatalf("the unbroken JWE failed its decoding: %v", err)
	}
	bad := jwe[:10] + "\n" + jwe[10:]
	if _, err := Decrypt(bad, nil, true); err == nil || !strings.Contains(err.Error(), "not strict unpadded base64url") {
		t.Errorf("JWE with a line break: err = %v, want not strict base64url", err)
	}
}

// TestParseCompactIntoSignatureScratch: the signature comes back the same
// whether it is decoded into the caller's scratch buffer or not, and a bad
// signature is refused on both paths.
func TestParseCompactIntoSignatureScratch(t *testing.T) {
	t.Parallel()
	const input = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0."
	for _, sig := range []string{"c2ln", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "c2l", "c2l=", "c2ln\n", "c+ln"} {
		want, wantErr := ParseCompact(input + sig)
		for _, scratch := range [][]byte{nil, make([]byte, 2), make([]byte, 64)} {
			var got Token
			gotSig, err := ParseCompactInto(input+sig, nil, &got, scratch)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("%q, scratch %d: error %v, ParseCompact's %v", sig, len(scratch), err, wantErr)
			}
			if err != nil {
				continue
			}
			if string(gotSig) != string(want.Signature) || got.Signature != nil {
				t.Fatalf("%q, scratch %d: signature %x (Token's %x), want %x", sig, len(scratch), gotSig, got.Signature, want.Signature)
			}
			if fits := len(scratch) >= len(gotSig) && len(gotSig) > 0; fits != (len(scratch) > 0 && &scratch[0] == &gotSig[0]) {
				t.Fatalf("%q, scratch %d: decoded into the scratch buffer: %v, want %v", sig, len(scratch), !fits, fits)
			}
		}
	}
}
