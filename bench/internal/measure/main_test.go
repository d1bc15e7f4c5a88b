package measure

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/hexchi/starter/bench/internal/redisproc"
)

// redisAddr is the address of the redis-server TestMain started, "" if it
// could not start one; redisSkip then says why.
var (
	redisAddr, redisSkip string
	redisSrv             *redisproc.Server
)

// TestMain runs one redis-server for the package's tests and benchmarks
// and stops it when they end. bench/ is its own module, so `go test ./...`
// in the template never gets here; without redis-server the tests that
// need it skip and say how to get it.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	srv, err := redisproc.Start(context.Background(), os.Getenv("REDIS_SERVER"))
	if err != nil {
		redisSkip = fmt.Sprintf("needs redis-server (REDIS_SERVER names it if it is not in PATH): %v", err)
		return m.Run()
	}
	defer srv.Close()
	redisAddr, redisSrv = srv.Addr(), srv
	return m.Run()
}

// needRedis skips tb unless TestMain started a redis-server.
func needRedis(tb testing.TB) string {
	tb.Helper()
	if redisAddr == "" {
		tb.Skip(redisSkip)
	}
	return redisAddr
}

// redisServer returns the redis-server TestMain started; call needRedis
// first.
func redisServer(tb testing.TB) *redisproc.Server {
	tb.Helper()
	needRedis(tb)
	return redisSrv
}
