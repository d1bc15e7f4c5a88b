package tests

import (
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/redisstore"
	"github.com/hexchi/starter/internal/auth/session/sessiontest"
)

// TestConformanceRedis runs the session store conformance suite against a
// real Redis, on real time.
func TestConformanceRedis(t *testing.T) {
	client := newClient(t, redisAddr(t))
	sessiontest.Run(t, sessiontest.Harness{
		New: func(t *testing.T) session.Store {
			return redisstore.New(client, redisstore.WithKeyPrefix(keyPrefix()))
		},
		Now:     time.Now,
		Advance: func(t *testing.T, d time.Duration) { time.Sleep(d) },
	})
}
