// Package redistest runs real redis-server processes for tests: one on a
// free loopback port with its own temporary directory, or a local Redis
// Cluster, each stopped when the test ends. Tests skip when redis-server is
// not installed (Debian: apt-get install redis-server; `make deps`), and
// fail instead when the CI environment variable is set, so CI cannot pass
// by skipping.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Binary returns the path of redis-server, or skips t (fails it under CI).
func Binary(t testing.TB) string {
	t.Helper()
	return lookPath(t, "redis-server")
}

func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	why := name + " not found: install Debian's redis-server package (make deps) to run the Redis tests"
	if os.Getenv("CI") != "" {
		t.Fatal("CI must not skip: " + why)
	}
	t.Skip(why)
	return ""
}

// A Server is one redis-server process. Its methods are safe for
// concurrent use.
type Server struct {
	// Addr is host:port, the same across Kill and Restart.
	Addr string

	t    testing.TB
	bin  string
	args []string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Option adjusts a Server.
type Option func(*settings)

type settings struct{ persist bool }

// Persistent turns on the append-only file with fsync on every write, so a
// Server killed with SIGKILL and restarted keeps every acknowledged write.
// Default: no persistence (a restart starts empty).
func Persistent() Option { return func(s *settings) { s.persist = true } }

// Start starts a redis-server on a free loopback port and stops it when
// the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var st settings
	for _, o := range opts {
		o(&st)
	}
	bin := Binary(t)
	dir := t.TempDir()
	port := freePort(t)
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--daemonize", "no", "--loglevel", "warning", "--logfile", filepath.Join(dir, "redis.log")}
	if st.persist {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), t: t, bin: bin, args: args}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, s.args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start redis-server: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	waitPing(s.t, s.Addr, cmd)
}

// waitPing waits until the server at addr answers PING.
func waitPing(t testing.TB, addr string, cmd *exec.Cmd) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(argAfter(cmd.Args, "--dir"), "redis.log"))
			t.Fatalf("redistest: redis-server on %s did not answer PING: %v\n%s", addr, err, log)
		}
		time.Sleep(20 * time.Millisecond) // polling for the process to come up
	}
}

func argAfter(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// Client returns a client of the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// Kill kills the server with SIGKILL and waits for it to exit.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT) // a stopped process dies only when continued
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// Restart starts the server again, on the same port and directory, after
// Kill: with Persistent it reloads its data, otherwise it starts empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

// Pause stops the server with SIGSTOP: connections stay open, nothing is
// answered.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) stop() { s.Kill() }

// A Cluster is a local Redis Cluster of masters without replicas.
type Cluster struct {
	// Addrs are the masters' addresses.
	Addrs []string
}

// StartCluster starts masters redis-server processes in cluster mode on
// free loopback ports, joins them with redis-cli --cluster create, waits
// until every node reports the cluster ok, and stops them when the test
// ends.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	bin := Binary(t)
	cli := lookPath(t, "redis-cli")
	c := &Cluster{}
	for range masters {
		dir := t.TempDir()
		port := freePort(t)
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), t: t, bin: bin,
			args: []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
				"--daemonize", "no", "--loglevel", "warning", "--logfile", filepath.Join(dir, "redis.log"),
				"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "5000"}}
		s.start()
		t.Cleanup(s.stop)
		c.Addrs = append(c.Addrs, s.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range c.Addrs {
		n := redis.NewClient(&redis.Options{Addr: addr})
		for {
			info, err := n.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				n.Close()
				t.Fatalf("redistest: cluster node %s not ok: %v %s", addr, err, info)
			}
			time.Sleep(50 * time.Millisecond) // polling for the cluster to converge
		}
		n.Close()
	}
	return c
}

// Client returns a cluster client, closed when the test ends.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// String describes the cluster.
func (c *Cluster) String() string { return fmt.Sprintf("Redis Cluster %v", c.Addrs) }
