package jose

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Token headers and claims, and the key sets and discovery documents that
// servers send, are untrusted JSON. They are read by one strict scanner:
//
//   - one pass, so the cost is linear in the input, whatever its shape;
//   - at most MaxDepth nested objects and arrays (real JOSE headers and
//     claims use two or three levels);
//   - RFC 8259 exactly: no raw control characters in strings, valid escapes,
//     valid UTF-8, no lone UTF-16 surrogates, the number grammar, nothing
//     after the value but white space;
//   - no member name twice in any object, at any depth, also when the two
//     differ only by case as encoding/json folds it (simple Unicode
//     folding, as strings.EqualFold): encoding/json, which decodes custom
//     claims, would otherwise merge them, and two readers could disagree
//     about what a token says.

// MaxDepth bounds the nesting of objects and arrays in untrusted JSON.
const MaxDepth = 16

// The scanner's verdicts on a document it refuses.
var (
	ErrSyntax    = errors.New("invalid JSON")
	ErrDepth     = errors.New("JSON nested deeper than 16 levels")
	ErrDuplicate = errors.New("JSON object has a member name twice")
)

// Kind is the type of a JSON value.
type Kind byte

const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// Value is one validated JSON value, as the bytes it spans.
type Value struct {
	kind    Kind
	raw     []byte
	escaped bool // a string with backslash escapes
}

type scanner struct {
	b     []byte
	i     int
	depth int
	err   error
}

// CheckJSON validates untrusted JSON whose top level must be an object.
func CheckJSON(b []byte) error {
	return ScanObject(b, nil)
}

// ScanObject validates b, which must hold one JSON object, and calls visit
// with each of its members in order (visit may be nil). It stops at the
// first error, or with ErrSyntax when visit returns false. Values are
// validated before visit sees them; a later error still fails the whole
// document.
func ScanObject(b []byte, visit func(name []byte, v Value) bool) error {
	var r ObjectReader
	r.Reset(b)
	for {
		name, v, ok := r.Next()
		if !ok {
			return r.Err()
		}
		if visit != nil && !visit(name, v) {
			return ErrSyntax
		}
	}
}

// ObjectReader reads the members of one JSON object in order, validating
// everything as it goes (ScanObject without a callback, so the hot path
// allocates nothing for closures). Its zero value is not ready: Reset it.
type ObjectReader struct {
	s     scanner
	names memberNames
	state uint8 // 0: before '{', 1: at a member, 2: after '}'
	err   error
}

// Reset starts reading b. Names past names.n are never read, so they
// are left as they are rather than zeroed (800 bytes a token).
func (r *ObjectReader) Reset(b []byte) {
	r.s = scanner{b: b}
	r.names.n, r.names.folded = 0, nil
	r.state, r.err = 0, nil
}

// Next returns the next member. After it returns false, Err says whether
// the document was one well-formed object.
func (r *ObjectReader) Next() (name []byte, v Value, ok bool) {
	s := &r.s
	switch r.state {
	case 0:
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '{' {
			r.err = ErrSyntax
			return nil, Value{}, false
		}
		s.enter()
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			r.state = 2
			return nil, Value{}, r.finish()
		}
		r.state = 1
	case 2:
		return nil, Value{}, r.finish()
	}
	if r.err != nil {
		return nil, Value{}, false
	}
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return r.syntax()
	}
	start := s.i
	escaped := s.str()
	if s.err != nil {
		r.err = s.err
		return nil, Value{}, false
	}
	name = s.b[start+1 : s.i-1]
	if escaped {
		name = []byte(unescape(name))
	}
	if !r.names.add(name) {
		r.err = ErrDuplicate
		return nil, Value{}, false
	}
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return r.syntax()
	}
	s.i++
	s.space()
	v = s.value()
	if s.err != nil {
		r.err = s.err
		return nil, Value{}, false
	}
	s.space()
	switch {
	case s.i < len(s.b) && s.b[s.i] == ',':
		s.i++
		s.space()
	case s.i < len(s.b) && s.b[s.i] == '}':
		s.i++
		r.state = 2
	default:
		return r.syntax()
	}
	return name, v, true
}

func (r *ObjectReader) syntax() ([]byte, Value, bool) {
	r.err = ErrSyntax
	return nil, Value{}, false
}

// finish checks that nothing but white space follows the object.
func (r *ObjectReader) finish() bool {
	r.s.space()
	if r.err == nil && r.s.i != len(r.s.b) {
		r.err = ErrSyntax
	}
	return false
}

// Err is the reader's verdict once Next has returned false.
func (r *ObjectReader) Err() error {
	if r.err == nil && r.state != 2 {
		return ErrSyntax
	}
	return r.err
}

func (s *scanner) fail(err error) {
	if s.err == nil {
		s.err = err
	}
	s.i = len(s.b) // stop every loop
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value at s.i (no leading white space).
func (s *scanner) value() Value {
	if s.i >= len(s.b) {
		s.fail(ErrSyntax)
		return Value{}
	}
	start := s.i
	switch c := s.b[s.i]; {
	case c == '{':
		s.object()
		return Value{kind: Object, raw: s.b[start:s.i]}
	case c == '[':
		s.array()
		return Value{kind: Array, raw: s.b[start:s.i]}
	case c == '"':
		escaped := s.str()
		return Value{kind: String, raw: s.b[start:s.i], escaped: escaped}
	case c == '-' || '0' <= c && c <= '9':
		s.number()
		return Value{kind: Number, raw: s.b[start:s.i]}
	case c == 't':
		s.literal("true")
		return Value{kind: Bool, raw: s.b[start:s.i]}
	case c == 'f':
		s.literal("false")
		return Value{kind: Bool, raw: s.b[start:s.i]}
	case c == 'n':
		s.literal("null")
		return Value{kind: Null, raw: s.b[start:s.i]}
	}
	s.fail(ErrSyntax)
	return Value{}
}

func (s *scanner) literal(lit string) {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		s.fail(ErrSyntax)
		return
	}
	s.i += len(lit)
}

func (s *scanner) enter() bool {
	s.depth++
	if s.depth > MaxDepth {
		s.fail(ErrDepth)
		return false
	}
	s.i++ // the opening bracket
	s.space()
	return true
}

func (s *scanner) array() {
	if !s.enter() {
		return
	}
	defer func() { s.depth-- }()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return
	}
	for s.i < len(s.b) {
		s.value()
		s.space()
		if s.i >= len(s.b) {
			break
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case ']':
			s.i++
			return
		default:
			s.fail(ErrSyntax)
		}
	}
	s.fail(ErrSyntax)
}

func (s *scanner) object() {
	if !s.enter() {
		return
	}
	defer func() { s.depth-- }()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return
	}
	var names memberNames
	for s.i < len(s.b) {
		if s.b[s.i] != '"' {
			break
		}
		start := s.i
		escaped := s.str()
		if s.err != nil {
			return
		}
		name := s.b[start+1 : s.i-1]
		if escaped {
			name = []byte(unescape(name))
		}
		if !names.add(name) {
			s.fail(ErrDuplicate)
			return
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			break
		}
		s.i++
		s.space()
		s.value()
		if s.err != nil {
			return
		}
		s.space()
		if s.i >= len(s.b) {
			break
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
			continue
		case '}':
			s.i++
			return
		}
		break
	}
	s.fail(ErrSyntax)
}

// str scans a string at s.i and reports whether it has escapes.
func (s *scanner) str() (escaped bool) {
	b := s.b
	i := s.i + 1
	for i < len(b) {
		for i < len(b) && plainStringByte[b[i]] { // most of a string: no checks beyond this
			i++
		}
		if i == len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return escaped
		case c < 0x20:
			s.fail(ErrSyntax)
			return false
		case c == '\\':
			escaped = true
			n := escapeLen(b[i:])
			if n == 0 {
				s.fail(ErrSyntax)
				return false
			}
			i += n
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				s.fail(ErrSyntax)
				return false
			}
			i += n
		}
	}
	s.fail(ErrSyntax)
	return false
}

// plainStringByte marks the bytes a string holds as they are: printable
// ASCII but the quote and the backslash.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// escapeLen returns the length of the escape at the start of b, or 0 if it
// is invalid. A \u escape of a UTF-16 surrogate must be half of a proper
// pair: encoding/json turns a lone one into U+FFFD, so refusing it leaves
// no room for two readers to differ.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
	default:
		return 0
	}
	r, ok := hex4(b[2:])
	switch {
	case !ok:
		return 0
	case 0xD800 <= r && r <= 0xDBFF:
		if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
			return 0
		}
		low, ok := hex4(b[8:])
		if !ok || low < 0xDC00 || low > 0xDFFF {
			return 0
		}
		return 12
	case 0xDC00 <= r && r <= 0xDFFF:
		return 0
	}
	return 6
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unescape decodes the body of a validated string that has escapes.
func unescape(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch b[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hex4(b[i+2:])
			if 0xD800 <= r && r <= 0xDBFF {
				low, _ := hex4(b[i+8:])
				r = (r-0xD800)<<10 | (low - 0xDC00) + 0x10000
				i += 6
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		default: // " \ /
			out = append(out, b[i+1])
		}
		i += 2
	}
	return string(out)
}

func (s *scanner) number() {
	b, i := s.b, s.i
	digits := func() int {
		n := 0
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		s.fail(ErrSyntax)
		return
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			s.fail(ErrSyntax)
			return
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			s.fail(ErrSyntax)
			return
		}
	}
	s.i = i
}

// memberNames detects a repeated member name in one object, with
// encoding/json's case folding. Small objects compare pairwise; larger
// ones switch to a set of folded names, so the cost stays linear. A
// non-ASCII name is folded once, when it is added.
type memberNames struct {
	sigs   [16]uint32 // few[i]'s asciiSig, or 0 for a non-ASCII name: the pairwise loop reads 4 bytes a name
	few    [16]memberName
	n      int
	folded map[string]struct{}
}

type memberName struct {
	raw  []byte
	fold string // for a name with non-ASCII bytes (or after one was seen): its folded form
}

// asciiSig is an ASCII name's signature: two names that fold together
// have the same, so names of different signatures differ.
func asciiSig(name []byte) uint32 {
	sig := uint32(1)<<31 | uint32(len(name)&0x7fff)
	if len(name) > 0 {
		sig |= uint32(lowerASCII(name[0]))<<16 | uint32(lowerASCII(name[len(name)-1]))<<24&0x7f000000
	}
	return sig
}

func (m *memberNames) add(name []byte) bool {
	if m.folded == nil {
		e := memberName{raw: name}
		var sig uint32
		if isASCII(name) {
			sig = asciiSig(name)
		} else {
			e.fold = FoldName(name)
		}
		for i, other := range m.sigs[:m.n] {
			if other != sig && other != 0 && sig != 0 {
				continue // two ASCII names of different signatures never fold together
			}
			if m.few[i].same(&e) {
				return false
			}
		}
		if m.n < len(m.few) {
			m.sigs[m.n] = sig
			m.few[m.n] = e
			m.n++
			return true
		}
		m.folded = make(map[string]struct{}, 2*len(m.few))
		for i := range m.few {
			m.folded[m.few[i].key()] = struct{}{}
		}
	}
	f := FoldName(name)
	if _, dup := m.folded[f]; dup {
		return false
	}
	m.folded[f] = struct{}{}
	return true
}

// same reports whether two names fold together. Two ASCII names compare
// in place; otherwise each side is folded at most once.
func (a *memberName) same(b *memberName) bool {
	if a.fold == "" && b.fold == "" {
		return equalFoldASCII(a.raw, b.raw)
	}
	return a.key() == b.key()
}

func (a *memberName) key() string {
	if a.fold == "" {
		a.fold = FoldName(a.raw)
	}
	return a.fold
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// equalFoldASCII is strings.EqualFold for two ASCII names: two ASCII
// letters fold together only when they are the same letter.
func equalFoldASCII(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// FoldName maps a name to a key such that two names get the same key
// exactly when strings.EqualFold holds for them: each rune becomes the
// smallest rune of its simple-folding orbit (as encoding/json does).
func FoldName(name []byte) string {
	var buf [64]byte
	out := buf[:0]
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(name[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return string(out)
}

func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// text returns the string a validated string value holds.
//
// A string without escapes shares the input's memory instead of copying
// it: ScanObject's callers (ParseHeader, ParseClaims) keep the input
// alive and never write to it.
func (v Value) text() string {
	body := v.raw[1 : len(v.raw)-1]
	if v.escaped {
		return unescape(body)
	}
	if len(body) == 0 {
		return ""
	}
	return unsafe.String(&body[0], len(body))
}

// elements calls f with each element of a validated array.
func (v Value) elements(f func(Value) bool) bool {
	s := scanner{b: v.raw, i: 1, depth: 1}
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		return true
	}
	for s.err == nil && s.i < len(s.b) {
		e := s.value()
		if s.err != nil || !f(e) {
			return false
		}
		s.space()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			return true
		}
		s.i++ // ','
		s.space()
	}
	return false
}

// readString reads a string member. null is refused: RFC 7515 and 7519
// define these members as strings.
func readString(v Value, dst *string) bool {
	if v.kind != String {
		return false
	}
	*dst = v.text()
	return true
}

// readStrings reads a string or an array of strings.
func readStrings(v Value) ([]string, bool) {
	switch v.kind {
	case String:
		return []string{v.text()}, true
	case Array:
		var out []string
		ok := v.elements(func(e Value) bool {
			if e.kind != String {
				return false
			}
			out = append(out, e.text())
			return true
		})
		return out, ok
	}
	return nil, false
}

// readDate reads a NumericDate (RFC 7519 §2): a number of seconds since the
// epoch, fractions kept, clamped to the epoch … year 9999. null, strings and
// numbers outside float64's range are refused.
func readDate(v Value, dst *time.Time) bool {
	if v.kind != Number {
		return false
	}
	if sec, ok := smallUint(v.raw); ok { // the usual case: whole seconds
		switch {
		case sec >= MaxDate.Unix():
			*dst = MaxDate
		case sec == 0:
			*dst = time.Unix(0, 0).UTC()
		default:
			*dst = time.Unix(sec, 0).UTC()
		}
		return true
	}
	f, err := strconv.ParseFloat(string(v.raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return false
	}
	switch {
	case f >= float64(MaxDate.Unix()):
		*dst = MaxDate
	case f <= 0:
		*dst = time.Unix(0, 0).UTC()
	default:
		sec, frac := math.Modf(f)
		*dst = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	return true
}

// smallUint reads a number of 1 to 15 digits and nothing else (no sign,
// fraction or exponent), which float64 holds exactly.
func smallUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// splitScope splits a scope string on single spaces (RFC 6749 §3.3), and
// nothing else: a tab or a no-break space stays inside its scope-token, so
// "read\twrite" never grants "write".
func splitScope(buf []string, s string) []string {
	out := buf[:0]
	for s != "" {
		var tok string
		i := 0
		for i < len(s) && s[i] != ' ' {
			i++
		}
		tok, s = s[:i], s[i:]
		if len(s) > 0 {
			s = s[1:]
		}
		if tok != "" {
			out = append(out, tok)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ParseHeader reads a protected header; alg is required.
func ParseHeader(b []byte, h *Header) error {
	var r ObjectReader
	r.Reset(b)
	for {
		name, v, more := r.Next()
		if !more {
			break
		}
		ok := true
		switch string(name) {
		case "alg":
			ok = readString(v, &h.Alg)
			h.Alg = internAlg(h.Alg)
		case "kid":
			ok = readString(v, &h.Kid)
		case "typ":
			ok = readString(v, &h.Typ)
		case "enc":
			ok = readString(v, &h.Enc)
		case "cty":
			ok = readString(v, &h.Cty)
		case "crit":
			h.Crit = true
		case "zip":
			h.Zip = true
		}
		if !ok {
			return malformed("header member %q is not a string", name)
		}
	}
	if err := r.Err(); err != nil {
		return malformed("header: %v", err)
	}
	if h.Alg == "" {
		return malformed(`header has no "alg"`)
	}
	return nil
}

// Claims are the registered and well-known claims of a claims set, read
// strictly, and the set itself.
type Claims struct {
	Issuer, Subject, ID string
	SessionID           string // sid
	TenantID            string // tid (Entra, multi-tenant issuers)
	Audience            []string
	ExpiresAt           time.Time // zero when absent
	NotBefore           time.Time
	IssuedAt            time.Time
	Scopes              []string // scope and scp, merged
	Permissions         []string
	CnfX5tS256          string // cnf["x5t#S256"] (RFC 8705 §3.1), "" when absent
	CnfJKT              string // cnf["jkt"] (RFC 9449 §6.1), "" when absent
	CnfOther            bool   // cnf has a confirmation method other than those two
	Raw                 []byte // the payload JSON
	// inline holds a one-string aud ([0]) and the first scopes ([1:]), so
	// the usual token costs no allocation for them.
	inline [5]string
}

// internAlg returns the table's own string for a known alg, so a header
// does not keep its buffer alive through it.
func internAlg(alg string) string {
	if a, ok := algorithms[alg]; ok {
		return a.name
	}
	return alg
}

// ParseClaims reads a claims set. The payload must not change afterwards:
// the claims' strings share its memory. Registered claims must have their RFC
// 7519 types (null is not a string or a number); scope, scp and
// permissions may be null.
func ParseClaims(payload []byte, c *Claims) error {
	c.Raw = payload
	var scope, scp []string
	var r ObjectReader
	r.Reset(payload)
	for {
		name, v, more := r.Next()
		if !more {
			break
		}
		ok := true
		switch string(name) {
		case "iss":
			ok = readString(v, &c.Issuer)
		case "sub":
			ok = readString(v, &c.Subject)
		case "jti":
			ok = readString(v, &c.ID)
		case "sid":
			ok = readString(v, &c.SessionID)
		case "tid":
			ok = readString(v, &c.TenantID)
		case "aud":
			if v.kind == String {
				c.inline[0] = v.text()
				c.Audience = c.inline[:1:1]
			} else {
				c.Audience, ok = readStrings(v)
			}
		case "exp":
			ok = readDate(v, &c.ExpiresAt)
		case "nbf":
			ok = readDate(v, &c.NotBefore)
		case "iat":
			ok = readDate(v, &c.IssuedAt)
		case "scope":
			ok = scopeClaim(v, &scope, c.inline[1:1:len(c.inline)])
		case "scp":
			ok = scopeClaim(v, &scp, nil)
		case "permissions":
			ok = scopeClaim(v, &c.Permissions, nil)
		case "cnf":
			ok = readCnf(v, c)
		}
		if !ok {
			return malformed("claim %q has the wrong type", name)
		}
	}
	if err := r.Err(); err != nil {
		return malformed("claims: %v", err)
	}
	c.Scopes = mergeScopes(scope, scp)
	return nil
}

// Missing returns the first of names the claims set lacks (absent or
// null), or "" when it has them all: one pass over the set, whatever the
// number of names.
func (c *Claims) Missing(names []string) string {
	if len(names) == 0 {
		return ""
	}
	if len(names) > 64 { // more than one word of bits: rare enough to scan per name
		for _, n := range names {
			if !c.Has(n) {
				return n
			}
		}
		return ""
	}
	var found uint64 // bit i: names[i] is present
	var r ObjectReader
	r.Reset(c.Raw)
	for {
		name, v, more := r.Next()
		if !more {
			break
		}
		if v.kind == Null {
			continue
		}
		for i, n := range names {
			if string(name) == n {
				found |= 1 << i
			}
		}
	}
	for i, n := range names {
		if found&(1<<i) == 0 {
			return n
		}
	}
	return ""
}

// Has reports whether the claims set has a top-level member name that is
// not null.
func (c *Claims) Has(name string) bool {
	found := false
	_ = ScanObject(c.Raw, func(n []byte, v Value) bool {
		if string(n) == name && v.kind != Null {
			found = true
		}
		return true
	})
	return found
}

// MaxDate is the latest NumericDate kept; later ones are clamped to it.
var MaxDate = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// scopeClaim reads "scope" or "scp": a space-delimited string, or an array
// of strings (Okta, Entra). null counts as no scopes.
// A string is split into buf when it has room.
func scopeClaim(v Value, dst *[]string, buf []string) bool {
	switch v.kind {
	case Null:
		return true
	case String:
		*dst = splitScope(buf, v.text())
		return true
	}
	s, ok := readStrings(v)
	*dst = s
	return ok
}

// mergeScopes appends the scp entries not already in scope. Pairwise for
// small lists, a set for large ones: both come from unverified input, so
// the cost must stay linear.
func mergeScopes(scope, scp []string) []string {
	if len(scp) == 0 {
		return scope
	}
	if len(scope)+len(scp) <= 32 {
		for _, s := range scp {
			if !slices.Contains(scope, s) {
				scope = append(scope, s)
			}
		}
		return scope
	}
	seen := make(map[string]struct{}, len(scope)+len(scp))
	for _, s := range scope {
		seen[s] = struct{}{}
	}
	for _, s := range scp {
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			scope = append(scope, s)
		}
	}
	return scope
}
