package jose

// readCnf reads the confirmation claim (RFC 7800): an object whose
// "x5t#S256" (RFC 8705) and "jkt" (RFC 9449) members, when present, must
// be non-empty strings. Any other member is a confirmation method the
// guard cannot check (jwk, jwe, jku, kid, …): it is recorded in CnfOther so
// the token is refused rather than taken as unbound. Any other type for cnf
// (null included) is refused, so a token can never look unbound to one
// reader and bound to another.
func readCnf(v Value, c *Claims) bool {
	if v.kind != Object {
		return false
	}
	var r ObjectReader
	r.Reset(v.raw)
	for {
		name, m, more := r.Next()
		if !more {
			break
		}
		var dst *string
		switch string(name) {
		case "x5t#S256":
			dst = &c.CnfX5tS256
		case "jkt":
			dst = &c.CnfJKT
		default:
			c.CnfOther = true
			continue
		}
		if !readString(m, dst) || *dst == "" {
			return false
		}
	}
	return r.Err() == nil
}
