package app

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth"
	"github.com/hexchi/starter/internal/platform/config"
	"github.com/hexchi/starter/internal/platform/redis"
)

// hungRedis accepts connections and never answers, and counts them.
func hungRedis(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int32)
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String(), accepted
}

// TestLoginLimitsDoNotRetry: httprate-redis sends its commands with no
// context, so only the limits' client bounds them. It must give up after
// one timeout, as a session call does: with go-redis's default retries a
// login waited four timeouts (and more) on a hung Redis before its 503.
func TestLoginLimitsDoNotRetry(t *testing.T) {
	addr, accepted := hungRedis(t)
	cfg := config.Default().Core
	cfg.Redis.Addrs = []string{addr}
	cfg.Redis.DialTimeout, cfg.Redis.ReadTimeout, cfg.Redis.WriteTimeout = time.Second, 50*time.Millisecond, 50*time.Millisecond
	rdb, err := redis.New(cfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	limits, closeLimits, err := loginLimits(cfg, rdb, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeLimits() })
	if limits.Counter == nil {
		t.Fatal("no Redis counter for a single-node Redis")
	}
	err = limits.Counter(auth.LimitClient).IncrementBy("192.0.2.1", time.Now().UTC().Truncate(time.Minute), 1)
	if !isTimeout(err) {
		t.Fatalf("count on a hung Redis: %v, want a timeout", err)
	}
	// go-redis's transaction opens a second connection even with no
	// retries; with its default retries it opens 8.
	if n := accepted.Load(); n > 2 {
		t.Errorf("the limits' client made %d connections for one count, want at most 2: it retries", n)
	}
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
