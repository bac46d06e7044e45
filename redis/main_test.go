package jwtguardredis_test

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// quiet drops go-redis's own log lines (connection refused, while the tests
// kill Redis on purpose).
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	stop := startExampleRedis()
	code := m.Run()
	stop()
	os.Exit(code)
}
