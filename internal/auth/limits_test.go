package auth

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-chi/httprate"
	"github.com/redis/go-redis/v9"
)

// TestLimitSlides: a limit counts over a sliding window, as httprate does:
// the previous window's attempts weigh by the share of it still inside
// the last window's length.
func TestLimitSlides(t *testing.T) {
	start := time.Date(2026, 3, 14, 15, 9, 0, 0, time.UTC) // a window's start
	type step struct {
		at       time.Duration // after start
		wantOver bool
	}
	tests := map[string][]step{
		"within one window": {{0, false}, {time.Second, false}, {2 * time.Second, false}, {3 * time.Second, true}},
		// Windows of a minute from start; a refused attempt is not
		// counted.
		"into the next windows": {
			{0, false}, {0, false}, {0, false}, {0, true},
			{time.Minute, true},        // 3 of the previous window + 1
			{90 * time.Second, false},  // half of 3, rounded: 2, + 1
			{90 * time.Second, true},   // 2 + 1 + 1
			{150 * time.Second, false}, // half of 1, rounded: 1, + 1
			{150 * time.Second, false}, // 1 + 1 + 1
			{150 * time.Second, true},  // 1 + 2 + 1
			{239 * time.Second, false}, // 2 of the previous window weigh 1/60: 0, + 1
		},
	}
	for name, steps := range tests {
		t.Run(name, func(t *testing.T) {
			l := newLimit(3, time.Minute, nil)
			for i, s := range steps {
				over, err := l.spend("192.0.2.1", start.Add(s.at))
				if err != nil || over != s.wantOver {
					t.Fatalf("attempt %d at +%v: over %v, %v; want over %v", i+1, s.at, over, err, s.wantOver)
				}
			}
			if over, _ := l.spend("192.0.2.2", start.Add(steps[len(steps)-1].at)); over {
				t.Error("another key shares the count")
			}
		})
	}
}

// newRedisClient returns a client of mr that fails fast when mr is down.
func newRedisClient(t *testing.T, mr *miniredis.Miniredis) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestLoginLimitsSharedInRedis: with Redis counters, two Services (two
// replicas of the app) spend one budget; each in its own memory, they
// spend one each.
func TestLoginLimitsSharedInRedis(t *testing.T) {
	tests := map[string]struct {
		shared      bool
		wantLimited int // the attempt first refused, 0 for none
	}{
		"in Redis":  {shared: true, wantLimited: 6},
		"in memory": {shared: false, wantLimited: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mr := miniredis.RunT(t)
			limits := Limits{PerClient: 100, PerUsername: 5, Window: time.Minute}
			if tc.shared {
				limits.Counter = func(limit string) httprate.LimitCounter {
					return NewRedisCounter(newRedisClient(t, mr), "test:login:"+limit)
				}
			}
			replicas := []*loginEnv{newLoginEnv(t, limits), newLoginEnv(t, limits)}
			limited := 0
			for i := range 8 {
				e := replicas[i%2]
				a := e.login(t, "192.0.2.1", "ann", "wrong", nil)
				if errors.Is(a.err, ErrTooManyAttempts) {
					limited = i + 1
					break
				}
				if !errors.Is(a.err, ErrBadCredentials) {
					t.Fatalf("attempt %d: %v, want ErrBadCredentials", i+1, a.err)
				}
			}
			if limited != tc.wantLimited {
				t.Errorf("first refused attempt: %d, want %d (0: none of 8)", limited, tc.wantLimited)
			}
		})
	}
}

// TestLoginLimitsFailClosed: when Redis does not answer, a login is
// refused before its password is checked, right or wrong, so that an
// outage is no window for guessing.
func TestLoginLimitsFailClosed(t *testing.T) {
	for _, password := range []string{"pw-ann", "wrong"} {
		t.Run(password, func(t *testing.T) {
			mr := miniredis.RunT(t)
			client := newRedisClient(t, mr)
			e := newLoginEnv(t, Limits{PerClient: 10, PerUsername: 10, Window: time.Minute,
				Counter: func(limit string) httprate.LimitCounter { return NewRedisCounter(client, "test:login:"+limit) }})
			mr.Close()
			a := e.login(t, "192.0.2.1", "ann", password, nil)
			if !errors.Is(a.err, ErrLimitsUnavailable) {
				t.Fatalf("login with Redis down: %v, want ErrLimitsUnavailable", a.err)
			}
			if e.users.calls != 0 {
				t.Errorf("the password was checked %d times with the limits down", e.users.calls)
			}
		})
	}
}

// TestLimitHoldsUnderConcurrency: attempts at once, through two replicas'
// counters on one Redis, never pass more than the limit: each attempt is
// counted before it is checked, and Redis counts atomically. (Checked
// first, all 20 could see the same free attempt.)
func TestLimitHoldsUnderConcurrency(t *testing.T) {
	mr := miniredis.RunT(t)
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	replicas := []limit{
		newLimit(5, time.Minute, NewRedisCounter(newRedisClient(t, mr), "test:login:client")),
		newLimit(5, time.Minute, NewRedisCounter(newRedisClient(t, mr), "test:login:client")),
	}
	var passed atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			over, err := replicas[i%2].spend("192.0.2.1", now)
			if err != nil {
				t.Error(err)
			}
			if !over {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := passed.Load(); n > 5 {
		t.Errorf("%d of 20 concurrent attempts passed a limit of 5", n)
	}
	// One at a time, exactly the limit passes.
	passed.Store(0)
	for i := range 20 {
		if over, err := replicas[i%2].spend("192.0.2.2", now); err == nil && !over {
			passed.Add(1)
		}
	}
	if n := passed.Load(); n != 5 {
		t.Errorf("%d of 20 attempts in a row passed a limit of 5", n)
	}
}

// guessDirectory is a Directory where every password is wrong, safe for
// concurrent logins, that counts the passwords it checked.
type guessDirectory struct{ checked atomic.Int32 }

func (d *guessDirectory) Authenticate(context.Context, string, string) (User, error) {
	d.checked.Add(1)
	// As long as bcrypt takes, about: the time in which the other guesses
	// of a burst arrive. The test's verdict does not depend on it; without
	// it a count made after the check would rarely be caught out.
	time.Sleep(50 * time.Millisecond)
	return User{}, ErrBadCredentials
}

// TestUsernameLimitHoldsUnderConcurrentGuesses: a burst of guesses for one
// username, from as many addresses and over two replicas, checks no more
// passwords than the limit. Counted after the password check, as it once
// was, every guess of the burst would be checked.
func TestUsernameLimitHoldsUnderConcurrentGuesses(t *testing.T) {
	mr := miniredis.RunT(t)
	limits := Limits{PerClient: 100, PerUsername: 5, Window: time.Minute,
		Counter: func(limit string) httprate.LimitCounter {
			return NewRedisCounter(newRedisClient(t, mr), "test:login:"+limit)
		}}
	dir := &guessDirectory{}
	replicas := []*loginEnv{newLoginEnv(t, limits), newLoginEnv(t, limits)}
	for _, e := range replicas {
		e.svc.users = dir
	}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			ip := "192.0.2." + strconv.Itoa(i+1)
			a := replicas[i%2].login(t, ip, "ann", "guess", nil)
			if !errors.Is(a.err, ErrBadCredentials) && !errors.Is(a.err, ErrTooManyAttempts) {
				t.Errorf("guess from %s: %v", ip, a.err)
			}
		})
	}
	wg.Wait()
	if n := dir.checked.Load(); n > 5 {
		t.Errorf("%d of 30 concurrent guesses had their password checked, want at most 5", n)
	}
}
