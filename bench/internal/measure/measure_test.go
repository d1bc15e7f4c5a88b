package measure

import (
	"sync"
	"testing"
	"time"

	"github.com/hexchi/starter/bench/internal/apps"
)

// TestRoundTrips checks the counting harness against hexchi's budget
// (DESIGN §3), which hexchi's own tests prove with a client hook: two
// independent counts that must agree. The other libraries' counts are
// logged; the report shows them.
func TestRoundTrips(t *testing.T) {
	addr := needRedis(t)
	budget := map[Request]int{
		NoCookie: 0, ReadOnly: 1, TouchDue: 1, Modifying: 2,
		Forged: 0, Stale: 1, Login: 2, Logout: 2,
	}
	// With the near cache, a request that follows a read of its session
	// finds it in memory: a read costs nothing, a change only its write.
	// The idle touch, when due, is one script as without the cache.
	nearBudget := map[Request]int{
		NoCookie: 0, ReadOnly: 0, ReadMiss: 1, TouchDue: 1, Modifying: 1, ModMiss: 2,
		Forged: 0, Stale: 1, Login: 2, Logout: 1,
	}
	for _, s := range Setups() {
		got, err := CountRoundTrips(t.Context(), addr, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, req := range Requests {
			rt := got[req]
			t.Logf("%-27s %-26s %d-%d %v", s, req, rt.Min, rt.Max, rt.Trips)
			if rt.Applies != applies(s, req) {
				t.Errorf("%s, %s: applies %v", s, req, rt.Applies)
			}
			if s.Library != apps.Hexchi || !rt.Applies {
				continue
			}
			want := budget[req]
			if s.Near {
				want = nearBudget[req]
			}
			if rt.Min != want || rt.Max != want {
				t.Errorf("%s, %s: %d-%d round trips (%v), want %d", s, req, rt.Min, rt.Max, rt.Trips, want)
			}
		}
		if s.Library == apps.Hexchi && !got[Forged].Cleared {
			t.Errorf("%s: a forged cookie was not cleared", s)
		}
	}
}

// TestCorrectness runs every check on every setup. hexchi must pass them
// all. And every check must fail for some library, or it could not tell a
// broken session module from a good one: the failures expected here are
// the ones the session research measured (§5, §6.9) at the pinned versions.
func TestCorrectness(t *testing.T) {
	addr := needRedis(t)
	withDeadline := !testing.Short() // it waits about 1.3 s
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		results = map[Setup]map[Check]Outcome{}
	)
	for _, s := range Setups() {
		wg.Go(func() {
			out, err := CheckCorrectness(t.Context(), addr, s, withDeadline)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			results[s] = out
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, c := range Checks {
		caught := false
		for _, s := range Setups() {
			o := results[s][c]
			t.Logf("%-13s %-75s %v %s", s, c, o.Pass, o.Observed)
			if !o.Ran {
				continue
			}
			if s.Library == apps.Hexchi && !o.Pass {
				t.Errorf("%s: %s: %s", s, c, o.Observed)
			}
			caught = caught || !o.Pass
		}
		if !caught && results[Setups()[0]][c].Ran {
			t.Errorf("%s: no library fails this check, so it cannot tell a broken one", c)
		}
	}
}

// TestLoad runs a short load on hexchi, with and without its near cache,
// and on the ceiling: it checks that the generator works and gets right
// answers, never how fast, and that the counters of a run are read.
func TestLoad(t *testing.T) {
	addr := needRedis(t)
	srv := redisServer(t)
	cfg := LoadConfig{Clients: 2, Warmup: 20 * time.Millisecond, Duration: 150 * time.Millisecond}
	for _, s := range []Setup{{Library: apps.Hexchi}, {Library: apps.Hexchi, Near: true, Idle: true}, Ceiling(false)} {
		target, err := NewTarget(t.Context(), addr, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, req := range LoadRequests {
			res, err := target.Load(t.Context(), req, cfg, srv.Stats)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s, %s: %+v", s, req, res)
			if res.Requests == 0 || res.Errors != 0 || res.P50 <= 0 || res.P99 < res.P50 {
				t.Errorf("%s, %s: %+v", s, req, res)
			}
			if s.Library == apps.Hexchi && res.RedisCPU <= 0 {
				t.Errorf("%s, %s: no Redis CPU time", s, req)
			}
			// A read-only run on the cache is served from memory, but for
			// the first read of each client; every modifying load follows
			// this process's own write, which dropped the record.
			switch hr := res.HitRate(); {
			case !s.Near && hr != -1:
				t.Errorf("%s, %s: hit rate %v without a cache", s, req, hr)
			case s.Near && req == ReadOnly && hr < 0.9:
				t.Errorf("%s, %s: hit rate %v", s, req, hr)
			case s.Near && req == Modifying && hr > 0.1:
				t.Errorf("%s, %s: hit rate %v", s, req, hr)
			}
		}
		if err := target.Close(); err != nil {
			t.Error(err)
		}
	}
}

// TestLag measures a few trials of the cross-replica lag: every trial must
// end with B rejecting the session, within the near cache's MaxStaleness.
func TestLag(t *testing.T) {
	addr := needRedis(t)
	for _, s := range []Setup{{Library: apps.Hexchi}, {Library: apps.Hexchi, Near: true}} {
		lags, err := MeasureLag(t.Context(), addr, s, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, action := range LagActions {
			l := lags[action]
			t.Logf("%s, %s: %+v", s, action, l)
			if l.Trials != 20 || l.P50 > l.P99 || l.P99 > l.Max || l.Max >= 2*time.Second {
				t.Errorf("%s, %s: %+v", s, action, l)
			}
			if !s.Near && (l.Accepted != 0 || l.Uncached != 0) {
				t.Errorf("%s, %s: without a cache B accepted an ended session %d times", s, action, l.Accepted)
			}
		}
	}
	if _, err := MeasureLag(t.Context(), addr, Setup{Library: apps.SCS}, 1); err == nil {
		t.Error("no error for a lag on scs")
	}
}

func TestPercentile(t *testing.T) {
	lat := make([]time.Duration, 100)
	for i := range lat {
		lat[i] = time.Duration(i + 1)
	}
	if p50, p99 := percentile(lat, 50), percentile(lat, 99); p50 != 50 || p99 != 99 {
		t.Errorf("p50 %d, p99 %d; want 50, 99", p50, p99)
	}
	if p := percentile(lat[:1], 99); p != 1 {
		t.Errorf("one sample: p99 %d, want 1", p)
	}
}
