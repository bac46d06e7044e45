package jwtguardredis

import (
	"encoding/base64"
	"encoding/hex"
)

// Key layout, with the default prefix "jwtguard:". Braces are Cluster hash
// tags: every key a script touches shares one, so each script runs on one
// slot (no CROSSSLOT) on any Redis Cluster.
//
//	jwtguard:refresh:<sha256 hex>        string: the token's family id (points into the family's slot)
//	jwtguard:family:{<family>}           hash: head, revoked
//	jwtguard:token:{<family>}:<sha256 hex> hash: sub, claims, gen, idle, fexp, used, reuses
//	jwtguard:{revocations}:set           sorted set: entry → until (ms)
//	jwtguard:{revocations}:log           stream: one entry per revocation, id <seq>-0
//	jwtguard:{revocations}:seq           counter: the newest revocation's number
//	jwtguard:{revocations}:epoch         random id of this data set: changes when Redis lost it
//	jwtguard:revocations                 pub/sub channel: "<epoch> <seq> <until> <entry>"
//	jwtguard:dpop:<sha256 base64url>     string: a used DPoP proof, until its expiry (one key per command, no hash tag: spread over every slot)
type keys struct{ prefix string }

func (k keys) refresh(hash [32]byte) string {
	return k.prefix + "refresh:" + hex.EncodeToString(hash[:])
}
func (k keys) family(family string) string { return k.prefix + "family:{" + family + "}" }
func (k keys) token(family string, hash [32]byte) string {
	return k.prefix + "token:{" + family + "}:" + hex.EncodeToString(hash[:])
}
func (k keys) revocations(name string) string { return k.prefix + "{revocations}:" + name }
func (k keys) channel() string                { return k.prefix + "revocations" }

// dpop is the ReplayStore's key for a proof, by the SHA-256 of its key.
func (k keys) dpop(hash [32]byte) string {
	return k.prefix + "dpop:" + base64.RawURLEncoding.EncodeToString(hash[:])
}
