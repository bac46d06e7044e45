// Command example runs a self-contained demo on 127.0.0.1: a small token
// issuer (JWKS, a token endpoint and a browser login with refresh tokens)
// and an API and a page protected by jwtguard. Run it with
// `go run ./example` and follow what it prints.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"

	"github.com/jwtguard/jwtguard/example/internal/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (loopback only)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen on %s: %v (try -addr 127.0.0.1:0)", *addr, err)
	}
	if err := demo.Run(ctx, ln, os.Stdout); err != nil {
		log.Fatal(err)
	}
}
