package redis

import (
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/blackhole"
	"github.com/hexchi/starter/internal/platform/config"
)

// testConfig returns the default Redis config pointed at addrs.
func testConfig(addrs ...string) config.Redis {
	cfg := config.Default().Core.Redis
	cfg.Addrs = addrs
	return cfg
}

func newClient(t *testing.T, cfg config.Redis) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestNewTopology(t *testing.T) {
	tests := map[string]struct {
		addrs      []string
		masterName string
		check      func(t *testing.T, c goredis.UniversalClient)
	}{
		"one address is a single node": {
			addrs: []string{"127.0.0.1:6379"},
			check: func(t *testing.T, c goredis.UniversalClient) {
				plain, ok := c.(*goredis.Client)
				if !ok {
					t.Fatalf("client is %T, want *redis.Client", c)
				}
				if got := plain.Options().Addr; got != "127.0.0.1:6379" {
					t.Errorf("addr = %q, want the configured one (not a Sentinel)", got)
				}
			},
		},
		"several addresses are a cluster": {
			addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001"},
			check: func(t *testing.T, c goredis.UniversalClient) {
				if _, ok := c.(*goredis.ClusterClient); !ok {
					t.Fatalf("client is %T, want *redis.ClusterClient", c)
				}
			},
		},
		"a master name is Sentinel": {
			addrs:      []string{"127.0.0.1:26379", "127.0.0.1:26380"},
			masterName: "mymaster",
			check: func(t *testing.T, c goredis.UniversalClient) {
				failover, ok := c.(*goredis.Client)
				if !ok {
					t.Fatalf("client is %T, want the *redis.Client of NewFailoverClient", c)
				}
				if got := failover.Options().Addr; got != "FailoverClient" {
					t.Errorf("addr = %q, want go-redis's Sentinel marker FailoverClient", got)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(tc.addrs...)
			cfg.MasterName = tc.masterName
			c := newClient(t, cfg)
			tc.check(t, c.UniversalClient)
		})
	}
}

func TestNewOptions(t *testing.T) {
	cfg := testConfig("127.0.0.1:6379")
	cfg.DB = 3
	cfg.Username = "app"
	cfg.Password = "s3cret"
	cfg.DialTimeout = 2 * time.Second
	cfg.ReadTimeout = 300 * time.Millisecond
	cfg.WriteTimeout = 400 * time.Millisecond
	got := newClient(t, cfg).UniversalClient.(*goredis.Client).Options()

	if !got.ContextTimeoutEnabled {
		t.Error("ContextTimeoutEnabled is off: go-redis would ignore context deadlines")
	}
	if got.DB != 3 || got.Username != "app" || got.Password != "s3cret" {
		t.Errorf("db, username, password = %d, %q, %q", got.DB, got.Username, got.Password)
	}
	if got.DialTimeout != 2*time.Second || got.ReadTimeout != 300*time.Millisecond || got.WriteTimeout != 400*time.Millisecond {
		t.Errorf("timeouts dial, read, write = %v, %v, %v", got.DialTimeout, got.ReadTimeout, got.WriteTimeout)
	}
}

func TestNewRejects(t *testing.T) {
	tests := map[string]struct {
		cfg     config.Redis
		wantErr string
	}{
		"no address": {
			cfg:     testConfig(),
			wantErr: "core.redis.addrs",
		},
		"cluster with a db": {
			cfg:     func() config.Redis { c := testConfig("a:1", "b:2"); c.DB = 1; return c }(),
			wantErr: "core.redis.db",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if err == nil {
				_ = c.Close()
				t.Fatal("New succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to name %s", err, tc.wantErr)
			}
		})
	}
}

func TestReady(t *testing.T) {
	t.Run("answers", func(t *testing.T) {
		m := miniredis.RunT(t)
		if err := newClient(t, testConfig(m.Addr())).Ready(t.Context()); err != nil {
			t.Errorf("Ready: %v", err)
		}
	})

	t.Run("uses the credentials and db", func(t *testing.T) {
		m := miniredis.RunT(t)
		m.RequireUserAuth("app", "s3cret")
		cfg := testConfig(m.Addr())
		cfg.Username, cfg.Password, cfg.DB = "app", "s3cret", 2
		c := newClient(t, cfg)
		if err := c.Ready(t.Context()); err != nil {
			t.Fatalf("Ready: %v", err)
		}
		if err := c.Set(t.Context(), "k", "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if got, _ := m.DB(2).Get("k"); got != "v" {
			t.Errorf("key not written to db 2")
		}

		cfg.Password = "wrong"
		if err := newClient(t, cfg).Ready(t.Context()); err == nil {
			t.Error("Ready with a wrong password succeeded")
		}
	})

	t.Run("closed port fails", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()

		err = newClient(t, testConfig(addr)).Ready(t.Context())
		if err == nil || !strings.HasPrefix(err.Error(), "redis ping: ") {
			t.Errorf("Ready = %v, want a wrapped redis ping error", err)
		}
	})

	t.Run("hung server times out after a second", func(t *testing.T) {
		cfg := testConfig(blackhole.Listen(t))
		// Socket timeouts longer than the readiness timeout, so that only
		// the context deadline (ContextTimeoutEnabled) can end the PING.
		cfg.ReadTimeout, cfg.WriteTimeout = 10*time.Second, 10*time.Second
		c := newClient(t, cfg)

		start := time.Now()
		err := c.Ready(t.Context())
		elapsed := time.Since(start)
		if err == nil {
			t.Fatal("Ready against a hung server succeeded")
		}
		if elapsed < 900*time.Millisecond || elapsed > 1200*time.Millisecond {
			t.Errorf("Ready returned after %v, want about 1s (the readiness timeout)", elapsed)
		}
	})
}

// TestRouteLogs: go-redis's own lines (here, a dial that failed) land in the
// app's structured log, not as plain text on stderr.
func TestRouteLogs(t *testing.T) {
	var buf syncBuffer
	RouteLogs(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { RouteLogs(slog.New(slog.DiscardHandler)) })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: every dial is refused
	c := newClient(t, testConfig(addr))
	if err := c.Ready(t.Context()); err == nil {
		t.Fatal("Ready with nothing listening = nil, want an error")
	}

	var line struct {
		Level, Msg, Component string
	}
	first, _, _ := strings.Cut(buf.String(), "\n")
	if err := json.Unmarshal([]byte(first), &line); err != nil {
		t.Fatalf("go-redis wrote %q, want a JSON record: %v", buf.String(), err)
	}
	if line.Level != "WARN" || line.Component != "go-redis" || !strings.Contains(line.Msg, "failed to dial") {
		t.Errorf("go-redis's line = %+v, want a WARN of component go-redis about the dial", line)
	}
}

// syncBuffer is a log sink safe for go-redis's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
