package sessiontest

import (
	"slices"
	"sync"
	"time"
)

// Clock is a settable clock for store and Manager tests: give Now to the
// store (and the Manager), and Advance to the Harness, so that crossing an
// expiry costs no sleep. It is safe for concurrent use.
type Clock struct {
	mu    sync.Mutex
	now   time.Time
	hooks []*func(now time.Time, d time.Duration)
}

// NewClock returns a clock standing at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// serverLead is how far a ServerClock stands ahead of the real time: far
// beyond what a run of the suite advances (a few seconds) and beyond how
// long the slowest machine takes to run it.
const serverLead = time.Hour

// ServerClock returns a Clock for a store on a real server, such as Redis,
// whose own clock expires keys: it stands an hour ahead of the real time.
// Every deadline the suite sets then lies at least that far ahead of the
// server's clock, so the server never collects a key while the store's
// clock, which the suite moves, still calls it live; the store alone
// decides, as the contract says, and the run needs no sleep and no margin.
// Keys it writes live about that much longer on the server, so a test on a
// shared server should delete them when it ends.
func ServerClock() *Clock { return NewClock(time.Now().Add(serverLead).Truncate(time.Millisecond)) }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d, then runs the OnAdvance hooks.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now, hooks := c.now, c.hooks
	c.mu.Unlock()
	for _, h := range hooks {
		(*h)(now, d)
	}
}

// OnAdvance registers f to run after every Advance, with the new time and
// the step, until remove is called. It keeps other clocks in step, such as
// a miniredis server's, which computes PEXPIREAT from its SetTime and
// expires keys only on FastForward:
//
//	mr.SetTime(clock.Now())
//	t.Cleanup(clock.OnAdvance(func(now time.Time, d time.Duration) {
//		mr.SetTime(now)
//		mr.FastForward(d)
//	}))
func (c *Clock) OnAdvance(f func(now time.Time, d time.Duration)) (remove func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := &f
	c.hooks = append(c.hooks, h)
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.hooks = slices.DeleteFunc(slices.Clone(c.hooks), func(x *func(time.Time, time.Duration)) bool { return x == h })
	}
}
