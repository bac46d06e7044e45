// Package jwtguardredis runs jwtguard's stateful parts across a fleet of
// instances on Redis, with the client the application already has (any
// redis.UniversalClient: standalone, Sentinel or Cluster):
//
//   - [Store], an issuer.Store: refresh-token rotation and reuse detection,
//     atomic across instances (one Lua script per decision).
//   - [Mirror], a jwtguard.Revoker and issuer.Revocations: every instance
//     keeps the fleet's revocations in a local jwtguard.RevocationList, so
//     the request path never waits on Redis; a background loop keeps it in
//     step through pub/sub and a durable log, and the guard refuses with
//     503 when the mirror cannot confirm it is current for longer than a
//     bound (30 s by default).
//   - [ReplayStore], a jwtguard.ReplayStore: a DPoP proof is used once
//     across the fleet (one SET NX per proof; 503 when Redis cannot tell).
//
// Wiring, on every instance:
//
//	store, _ := jwtguardredis.NewStore(rdb)
//	mirror, _ := jwtguardredis.NewMirror(ctx, rdb)
//	defer mirror.Close()
//	sessions, _ := issuer.NewSessions(iss, issuer.WithStore(store), issuer.WithRevocations(mirror))
//	replays, _ := jwtguardredis.NewReplayStore(rdb) // with DPoP
//	guard, _ := jwtguard.New(ctx, ..., jwtguard.WithRevocations(mirror),
//		jwtguard.WithDPoP(jwtguard.DPoPRequired), jwtguard.WithDPoPReplayStore(replays))
//
// The instances must also verify each other's access tokens: give every
// issuer the same key (issuer.WithSigningKey) and issuer URL.
//
// Redis keeps refresh tokens only as SHA-256 hashes, and every key expires
// with what it records. Configure it with maxmemory-policy noeviction (an
// evicted family reads as revoked; an evicted revocation is lost until the
// mirrors re-assert it) and, to keep sessions and revocations across a
// restart, with persistence (appendonly yes; appendfsync always loses
// nothing).
package jwtguardredis
