// Command example runs a self-contained demo on 127.0.0.1: a small token
// issuer (JWKS, a token endpoint and a browser login with refresh tokens)
// and an API and a page protected by jwtguard. Run it with
// `go run ./example` and follow what it prints.
//
// With -redis host:port it runs as one instance of a fleet sharing that
// Redis (sessions, revocations, signing key): start two on two ports and
// log in on either. That variant is the module example/fleet, so that the
// Redis client never enters jwtguard's own go.mod; -redis hands over to it
// with `go run`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"

	"github.com/jwtguard/jwtguard/example/internal/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (loopback only)")
	redisAddr := flag.String("redis", "", "run as one instance of a fleet sharing the Redis at this address (host:port); default: in memory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *redisAddr != "" {
		os.Exit(fleet(ctx, *addr, *redisAddr))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen on %s: %v (try -addr 127.0.0.1:0)", *addr, err)
	}
	if err := demo.Run(ctx, ln, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// fleet runs example/fleet (found next to this file's source) with the same
// flags, and returns its exit code.
func fleet(ctx context.Context, addr, redisAddr string) int {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "fleet")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		fmt.Fprintf(os.Stderr, "example/fleet not found next to this program's source; from the repository, run:\n"+
			"  go -C example/fleet run . -redis %s -addr %s\n", redisAddr, addr)
		return 2
	}
	cmd := exec.CommandContext(ctx, "go", "run", ".", "-redis", redisAddr, "-addr", addr)
	cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = dir, os.Stdin, os.Stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if ctx.Err() != nil {
				return 0 // stopped with Ctrl+C
			}
			return exit.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "run example/fleet: %v\n", err)
		return 1
	}
	return 0
}
