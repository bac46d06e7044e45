package jwtguardredis_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/jwtguard/jwtguard"
	jwtguardredis "github.com/jwtguard/jwtguard/redis"
	"github.com/redis/go-redis/v9"
)

// exampleRedis is the address of the redis-server TestMain starts for the
// examples.
var exampleRedis string

// ExampleNewReplayStore makes DPoP proofs single-use across a fleet: every
// instance's guard remembers used proofs in the same Redis.
func ExampleNewReplayStore() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: exampleRedis, ContextTimeoutEnabled: true})
	defer rdb.Close()
	replays, err := jwtguardredis.NewReplayStore(rdb)
	if err != nil {
		panic(err)
	}
	idp, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // the identity provider's key
	guard, err := jwtguard.New(ctx,
		jwtguard.WithPublicKey("", &idp.PublicKey), // or WithJWKS(url)
		jwtguard.WithIssuer("https://idp.example.com/"),
		jwtguard.WithAudience("orders-api"),
		jwtguard.WithDPoP(jwtguard.DPoPRequired),
		jwtguard.WithDPoPReplayStore(replays),
	)
	if err != nil {
		panic(err)
	}
	defer guard.Close()

	// What the guard does with each proof that passed its other checks
	// (its key: a hash of the proof key's thumbprint and the jti).
	expires := time.Now().Add(time.Minute)
	first, err := replays.Use(ctx, "proof-key", expires)
	fmt.Println(first, err)
	again, err := replays.Use(ctx, "proof-key", expires) // on this or any other instance
	fmt.Println(again, err)
	// Output:
	// true <nil>
	// false <nil>
}

// startExampleRedis starts a redis-server for the examples on a free
// loopback port and returns the function that stops it. Without
// redis-server the examples are skipped (-test.skip), as the tests skip,
// except under CI, where the run fails.
func startExampleRedis() (stop func()) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "CI must not skip: redis-server not found (make deps installs it)")
			os.Exit(1)
		}
		if !flag.Parsed() {
			flag.Parse()
		}
		if f := flag.Lookup("test.skip"); f != nil && f.Value.String() == "" {
			_ = f.Value.Set("^Example")
		}
		fmt.Fprintln(os.Stderr, "redis-server not found: the examples are skipped (make deps installs it)")
		return func() {}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir, err := os.MkdirTemp("", "jwtguardredis-example")
	if err != nil {
		panic(err)
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	}
	exampleRedis = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := redis.NewClient(&redis.Options{Addr: exampleRedis, MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return stop
		}
		if time.Now().After(deadline) {
			stop()
			panic("redis-server for the examples did not answer PING: " + err.Error())
		}
		time.Sleep(20 * time.Millisecond) // polling for the process to come up
	}
}
