// Command fleet runs the demo (see example/internal/demo) as one instance
// of a fleet sharing a Redis: refresh tokens in a jwtguardredis.Store,
// revocations in a jwtguardredis.Mirror, one signing key. Start two on two
// ports with one Redis and log in on either:
//
//	go run ./example -redis 127.0.0.1:6379 -addr 127.0.0.1:8080
//	go run ./example -redis 127.0.0.1:6379 -addr 127.0.0.1:8081
//
// (`go run ./example -redis` hands over to this command, or run it
// directly: go -C example/fleet run . -redis 127.0.0.1:6379.) It is a
// module of its own so that the Redis client never enters jwtguard's
// go.mod.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/example/internal/demo"
	jwtguardotel "github.com/jwtguard/jwtguard/otel"
	jwtguardredis "github.com/jwtguard/jwtguard/redis"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (loopback only)")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address (host:port) shared by the instances")
	issuerName := flag.String("issuer", "jwtguard-demo", "the iss of every instance's tokens (in production: the public URL in front of them)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen on %s: %v (try -addr 127.0.0.1:0)", *addr, err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: *redisAddr})
	defer rdb.Close()
	if err := run(ctx, ln, os.Stdout, rdb, *issuerName); err != nil {
		log.Fatal(err)
	}
}

// run serves one instance of the fleet on ln until ctx ends.
func run(ctx context.Context, ln net.Listener, out io.Writer, rdb redis.UniversalClient, issuerName string) error {
	ready, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	key, err := sharedKey(ready, rdb)
	if err != nil {
		return fmt.Errorf("signing key from Redis: %w", err)
	}
	store, err := jwtguardredis.NewStore(rdb)
	if err != nil {
		return err
	}
	mirror, err := jwtguardredis.NewMirror(ctx, rdb)
	if err != nil {
		return err
	}
	defer mirror.Close()
	if err := mirror.WaitReady(ready); err != nil {
		return err
	}
	fmt.Fprintf(out, "fleet instance on Redis %s (issuer %q); open the page of another instance to see the same login\n\n",
		redisName(rdb), issuerName)
	metrics, err := prometheusMetrics()
	if err != nil {
		return err
	}
	return demo.Run(ctx, ln, out, demo.WithFleet(demo.Fleet{
		Issuer: issuerName, SigningKey: key, Store: store, Revocations: mirror,
		Status: func() (any, bool) { st := mirror.Status(); return st, st.Fresh },
	}), demo.WithMetrics(metrics))
}

// prometheusMetrics serves the guards' OpenTelemetry metrics on /metrics in
// Prometheus format (jwtguard_decisions_total, jwtguard_key_fetches_total,
// jwtguard_key_set_ready, …; see the README's "Operating it"), from a
// registry of this instance's own.
func prometheusMetrics() (demo.Metrics, error) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return demo.Metrics{}, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	obs, err := jwtguardotel.Observer(mp, nil)
	if err != nil {
		return demo.Metrics{}, err
	}
	return demo.Metrics{
		Observer: obs,
		Handler:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Guard: func(g *jwtguard.Guard) error {
			_, err := jwtguardotel.RegisterStatus(mp.Meter(jwtguardotel.ScopeName), g)
			return err
		},
	}, nil
}

func redisName(rdb redis.UniversalClient) string {
	if c, ok := rdb.(*redis.Client); ok {
		return c.Options().Addr
	}
	return "(cluster)"
}

// demoKeyName is where the demo keeps its signing key.
const demoKeyName = "jwtguard-demo:signing-key"

// sharedKey returns the fleet's signing key: the first instance generates
// it and stores it in Redis, the others read it. For the demo only: a real
// fleet loads its key from a secret store and never puts a private key in
// Redis.
func sharedKey(ctx context.Context, rdb redis.UniversalClient) (crypto.Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	if err := rdb.SetNX(ctx, demoKeyName, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0).Err(); err != nil {
		return nil, err
	}
	stored, err := rdb.Get(ctx, demoKeyName).Bytes()
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(stored)
	if block == nil {
		return nil, errors.New("not PEM")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	return signer, nil
}
