package jwtguardredis

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard"
)

// An entry is one revocation as Redis keeps it: its kind and what it names
// are the member of the sorted set (so revoking the same thing twice keeps
// one member, with the later until), until its score.
type entry struct {
	kind         byte // 't' token (jti), 's' session (sid), 'u' subject (sub + watermark)
	iss, id      string
	issuedBefore int64 // 'u' only: ms
}

// member encodes e as a JSON array: ["s","https://iss","sid"],
// ["u","https://iss","sub",1700000000123].
func (e entry) member() string {
	v := []any{string(e.kind), e.iss, e.id}
	if e.kind == 'u' {
		v = append(v, e.issuedBefore)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var errBadEntry = errors.New("malformed revocation entry")

func parseMember(m string) (entry, error) {
	var v []json.RawMessage
	if err := json.Unmarshal([]byte(m), &v); err != nil || len(v) < 3 {
		return entry{}, errBadEntry
	}
	var kind string
	var e entry
	if json.Unmarshal(v[0], &kind) != nil || json.Unmarshal(v[1], &e.iss) != nil || json.Unmarshal(v[2], &e.id) != nil || len(kind) != 1 {
		return entry{}, errBadEntry
	}
	e.kind = kind[0]
	switch {
	case (e.kind == 't' || e.kind == 's') && len(v) == 3:
	case e.kind == 'u' && len(v) == 4:
		if json.Unmarshal(v[3], &e.issuedBefore) != nil {
			return entry{}, errBadEntry
		}
	default:
		return entry{}, errBadEntry
	}
	return e, nil
}

// apply records e in l until until (ms).
func (e entry) apply(l *jwtguard.RevocationList, until int64) {
	u := time.UnixMilli(until)
	switch e.kind {
	case 't':
		l.RevokeToken(e.iss, e.id, u)
	case 's':
		l.RevokeSession(e.iss, e.id, u)
	case 'u':
		l.RevokeSubject(e.iss, e.id, time.UnixMilli(e.issuedBefore), u)
	}
}

// message is what the revoke script publishes: "<epoch> <seq> <until> <member>".
type message struct {
	epoch  string
	seq    uint64
	until  int64
	member string
}

func parseMessage(s string) (message, bool) {
	parts := strings.SplitN(s, " ", 4)
	if len(parts) != 4 {
		return message{}, false
	}
	seq, err1 := strconv.ParseUint(parts[1], 10, 64)
	until, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return message{}, false
	}
	return message{epoch: parts[0], seq: seq, until: until, member: parts[3]}, true
}
