package redisstore

import (
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/sessiontest"
)

// TestConformance runs the contract's suite on miniredis: a new server per
// subtest, all on one clock.
func TestConformance(t *testing.T) {
	c := sessiontest.NewClock(t0)
	sessiontest.Run(t, sessiontest.Harness{
		New:     func(t *testing.T) session.Store { return newEnvOn(t, c).store },
		Now:     c.Now,
		Advance: func(_ *testing.T, d time.Duration) { c.Advance(d) },
	})
}
