package auth

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/go-chi/httprate"
	httprateredis "github.com/go-chi/httprate-redis"
	"github.com/redis/go-redis/v9"
)

// ErrLimitsUnavailable means that the login limits could not be counted
// (their Redis did not answer), so the login was refused: see
// NewRedisCounter for why a login fails closed.
var ErrLimitsUnavailable = errors.New("login limits unavailable")

// The names of the two login limits, as Limits.Counter is asked for them.
const (
	LimitClient   = "client"
	LimitUsername = "username"
)

// Limits configures the login rate limits.
type Limits struct {
	PerClient   int // attempts per window from one client IP, right or wrong
	PerUsername int // failed attempts per window for one username
	Window      time.Duration
	// Counter returns the counter of one limit (LimitClient or
	// LimitUsername); the two must not share one, since an IP address and
	// a username may be the same string. Nil counts in this process's
	// memory: behind N replicas that gives a client N times the budget.
	// NewRedisCounter shares the count between replicas.
	Counter func(limit string) httprate.LimitCounter
}

// NewRedisCounter returns a login limit counter in Redis under prefix, for
// a single-node or Sentinel client (httprate-redis takes no Cluster
// client: a limit reads its current and previous windows in one MGET,
// whose keys would be in different slots).
//
// It fails closed: when Redis does not answer, the login is refused with
// ErrLimitsUnavailable (503) instead of counting in memory, which is what
// httprate-redis does by default. The app keeps its sessions in the same
// Redis, so no login could succeed then anyway; and a login that went on
// to check the password would tell a guesser whether it was right (503
// for a right one, 401 for a wrong one) with no limit at all, or N times
// the limit behind N replicas. The fallback would also start a goroutine
// that pings Redis until it answers, and never ends if the client is
// closed first.
//
// httprate's counter interface has no context, so httprate-redis sends
// its commands without the request's: they are bounded by the client's
// read and write timeouts and go-redis's retries, not by the request's
// deadline, and their spans are traces of their own.
func NewRedisCounter(client *redis.Client, prefix string) httprate.LimitCounter {
	return httprateredis.NewCounter(&httprateredis.Config{
		Client:           client,
		PrefixKey:        prefix,
		FallbackDisabled: true,
	})
}

// limit is one login limit: at most max attempts per window for a key,
// over a sliding window, as httprate counts them (the previous window's
// count, weighted by how much of it is still inside the last window, plus
// the current window's).
type limit struct {
	max     int
	window  time.Duration
	counter httprate.LimitCounter
}

func newLimit(attempts int, window time.Duration, counter httprate.LimitCounter) limit {
	if counter == nil {
		counter = httprate.NewLocalLimitCounter(window)
	}
	// Tells a Redis counter how long to keep a window's key.
	counter.Config(attempts, window)
	return limit{max: attempts, window: window, counter: counter}
}

// spend takes one attempt for key, and reports over (taking none) when
// there is none left. An attempt refused is not counted, as in httprate, so
// a client that keeps knocking gets its budget back as the window slides.
//
// The attempt is counted, then checked again: attempts at once, even on
// several replicas, never pass more than the limit, since each increment
// is atomic in Redis and no two attempts can both take the last one. One
// that finds it was over gives its attempt back (so a burst may pass fewer
// than the limit, never more).
func (l limit) spend(key string, now time.Time) (over bool, err error) {
	rate, err := l.rate(key, now)
	if err != nil || rate+1 > l.max {
		return err == nil, err
	}
	if err := l.add(key, now, 1); err != nil {
		return false, err
	}
	if rate, err = l.rate(key, now); err != nil {
		return false, err
	}
	if rate > l.max {
		return true, l.add(key, now, -1)
	}
	return false, nil
}

// giveBack returns an attempt that spend took at took; now is the time.
// When the window has changed since, the attempt stays, in the previous
// window, where it weighs less as the window slides: httprate's memory
// counter forgets every key when asked to count in a window older than its
// latest.
func (l limit) giveBack(key string, took, now time.Time) error {
	if !l.currentWindow(took).Equal(l.currentWindow(now)) {
		return nil
	}
	return l.add(key, took, -1)
}

// add adds n attempts to key's count in now's window.
func (l limit) add(key string, now time.Time, n int) error {
	if err := l.counter.IncrementBy(key, l.currentWindow(now), n); err != nil {
		return fmt.Errorf("%w: %w", ErrLimitsUnavailable, err)
	}
	return nil
}

func (l limit) rate(key string, now time.Time) (int, error) {
	current := l.currentWindow(now)
	curr, prev, err := l.counter.Get(key, current, current.Add(-l.window))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrLimitsUnavailable, err)
	}
	// The share of the previous window still inside the sliding window.
	inside := float64(l.window-now.Sub(current)) / float64(l.window)
	return int(math.Round(float64(prev)*inside)) + curr, nil
}

// currentWindow is the start of the window that holds now. Windows start
// on multiples of the window length in UTC, the same in every replica.
func (l limit) currentWindow(now time.Time) time.Time {
	return now.UTC().Truncate(l.window)
}
