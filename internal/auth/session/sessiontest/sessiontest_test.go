package sessiontest_test

import (
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/memstore"
	"github.com/hexchi/starter/internal/auth/session/sessiontest"
)

// TestRunRealClock runs the suite the way it runs against a real Redis,
// with time.Now and real sleeps (some 2.3 seconds of them), which
// checks the suite's own timing margins. The memory store's own test runs
// it with a fake clock.
func TestRunRealClock(t *testing.T) {
	sessiontest.Run(t, sessiontest.Harness{
		New:     func(*testing.T) session.Store { return memstore.New() },
		Now:     time.Now,
		Advance: func(_ *testing.T, d time.Duration) { time.Sleep(d) },
	})
}
