package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/hexchi/starter/bench/internal/apps"
	"github.com/hexchi/starter/bench/internal/measure"
)

// Target is a figure hexchi aims for (from the issues and DESIGN §3), with
// what the run measured. Targets are reported, never asserted.
type Target struct {
	// Group is the table the target is shown in.
	Group    string
	Name     string
	Measured string
	Met      bool
	// Why explains a missed target from the run's own figures.
	Why string
}

// The target groups, in the report's order.
const (
	GroupUncached = "hexchi without the near cache (issue #6, DESIGN §3)"
	GroupNear     = "hexchi with the near cache"
)

var (
	hexchiOff = measure.Setup{Library: apps.Hexchi}
	hexchiOn  = measure.Setup{Library: apps.Hexchi, Idle: true}
	nearOff   = measure.Setup{Library: apps.Hexchi, Near: true}
	nearOn    = measure.Setup{Library: apps.Hexchi, Near: true, Idle: true}
	scsOff    = measure.Setup{Library: apps.SCS}
	scsOn     = measure.Setup{Library: apps.SCS, Idle: true}
)

// Targets evaluates every target against the results.
func (r *Results) Targets() []Target {
	uncached := []measure.Setup{hexchiOff, hexchiOn}
	near := []measure.Setup{nearOff, nearOn}
	out := []Target{
		r.tripsTarget("Read-only request: 1 Redis round trip", uncached, measure.ReadOnly, 1, false),
		r.throughputTarget("Read-only throughput ≥ 1.2× scs, idle timeout off", hexchiOff, scsOff, measure.ReadOnly, 1.2),
		r.throughputTarget("Read-only throughput ≥ 1.5× scs, idle timeout on", hexchiOn, scsOn, measure.ReadOnly, 1.5),
		r.tripsTarget("Modifying request: 2 round trips", uncached, measure.Modifying, 2, false),
		r.tripsTarget("Forged cookie: 0 round trips", uncached, measure.Forged, 0, false),
		r.tripsTarget("Login: at most 3 round trips (DESIGN §3)", uncached, measure.Login, 3, true),
		r.allocTarget("Fewer allocations per request than scs", uncached),
		r.correctnessTarget("Every correctness check passes for hexchi", uncached),
	}
	for i := range out {
		out[i].Group = GroupUncached
	}
	nearTargets := []Target{
		r.tripsTarget("Read-only request on a cache hit: 0 round trips (idle on: no touch due, so no Lua either)", near, measure.ReadOnly, 0, false),
		r.tripsTarget("Read-only request on a cache miss: 1 round trip", near, measure.ReadMiss, 1, false),
		r.tripsTarget("Modifying request on a cache hit: 1 round trip", near, measure.Modifying, 1, false),
		r.tripsTarget("Forged cookie: 0 round trips", near, measure.Forged, 0, false),
		r.tripsTarget("Login: at most 3 round trips", near, measure.Login, 3, true),
		r.throughputTarget("Read-only throughput ≥ 2.5× scs, idle timeout off", nearOff, scsOff, measure.ReadOnly, 2.5),
		r.throughputTarget("Read-only throughput ≥ 2.5× scs, idle timeout on", nearOn, scsOn, measure.ReadOnly, 2.5),
		r.ceilingTarget("Read-only throughput ≥ 80% of the no-session ceiling, idle timeout off", nearOff, measure.ReadOnly, 0.8),
		r.ceilingTarget("Read-only throughput ≥ 80% of the no-session ceiling, idle timeout on", nearOn, measure.ReadOnly, 0.8),
		r.throughputTarget("Modifying throughput ≥ 1.5× scs, idle timeout off", nearOff, scsOff, measure.Modifying, 1.5),
		r.throughputTarget("Modifying throughput ≥ 1.5× scs, idle timeout on", nearOn, scsOn, measure.Modifying, 1.5),
		r.idleTarget("Read-only throughput, idle timeout on within 5% of off", measure.ReadOnly, 0.05),
		r.idleTarget("Modifying throughput, idle timeout on within 5% of off", measure.Modifying, 0.05),
		r.allocTarget("Fewer allocations per request than scs", near),
		r.correctnessTarget("Every correctness check passes with the near cache", near),
	}
	for i := range nearTargets {
		nearTargets[i].Group = GroupNear
	}
	return append(out, nearTargets...)
}

// tripsTarget checks that the setups need want round trips for req: exactly
// want, or at most want for the budgets that say "at most" (login).
func (r *Results) tripsTarget(name string, setups []measure.Setup, req measure.Request, want int, atMost bool) Target {
	t := Target{Name: name, Met: true}
	var got, why []string
	for _, s := range setups {
		rt, ok := r.RoundTrips[s][req]
		if !ok || !rt.Applies {
			t.Met = false
			got = append(got, s.String()+": not measured")
			continue
		}
		got = append(got, fmt.Sprintf("%s: %s", idleLabel(s), tripCount(rt)))
		if rt.Max > want || !atMost && rt.Min != want {
			t.Met = false
			why = append(why, fmt.Sprintf("%s sent %s for a %s request.", s, measure.FormatTrips(rt.Trips), req))
		}
	}
	t.Measured = strings.Join(got, ", ")
	t.Why = strings.Join(why, " ")
	return t
}

// throughputTarget checks hx's throughput of req against scs's in the same
// rounds.
func (r *Results) throughputTarget(name string, hx, scs measure.Setup, req measure.Request, want float64) Target {
	t := Target{Name: name}
	h, ok1 := r.LoadSummary(hx, req)
	s, ok2 := r.LoadSummary(scs, req)
	if !ok1 || !ok2 || h.RatioVsSCS == 0 {
		t.Measured = "not measured"
		return t
	}
	t.Measured = fmt.Sprintf("%.2f×, rounds %.2f–%.2f (%s vs %s req/s)",
		h.RatioVsSCS, h.RatioMin, h.RatioMax, reqPerSec(h.PerSecond), reqPerSec(s.PerSecond))
	t.Met = h.RatioVsSCS >= want
	if !t.Met {
		if hx.Near {
			t.Why = r.nearWhy(hx, req, h, "scs", s)
		} else {
			t.Why = r.throughputWhy(hx, scs, h, s)
		}
	}
	return t
}

// ceilingTarget checks the share of the no-session ceiling that hx reaches
// for req, in the same rounds.
func (r *Results) ceilingTarget(name string, hx measure.Setup, req measure.Request, want float64) Target {
	t := Target{Name: name}
	h, ok1 := r.LoadSummary(hx, req)
	c, ok2 := r.LoadSummary(measure.Ceiling(hx.Idle), req)
	if !ok1 || !ok2 || h.VsCeiling == 0 {
		t.Measured = "not measured"
		return t
	}
	t.Measured = fmt.Sprintf("%s, rounds %s–%s (%s vs %s req/s)",
		percent(h.VsCeiling), percent(h.CeilingMin), percent(h.CeilingMax), reqPerSec(h.PerSecond), reqPerSec(c.PerSecond))
	t.Met = h.VsCeiling >= want
	if !t.Met {
		t.Why = r.nearWhy(hx, req, h, "no session", c)
	}
	return t
}

// idleTarget checks that the near cache's throughput of req with the idle
// timeout on is within tolerance of off's. The two run in different
// rounds, so each is taken as its share of the ceiling of its own rounds,
// which cancels drift between them.
func (r *Results) idleTarget(name string, req measure.Request, tolerance float64) Target {
	t := Target{Name: name}
	off, ok1 := r.LoadSummary(nearOff, req)
	on, ok2 := r.LoadSummary(nearOn, req)
	if !ok1 || !ok2 || off.VsCeiling == 0 || on.VsCeiling == 0 {
		t.Measured = "not measured"
		return t
	}
	rel := on.VsCeiling / off.VsCeiling
	t.Measured = fmt.Sprintf("on/off %.3f: %s vs %s of the ceiling (%s vs %s req/s)",
		rel, percent(on.VsCeiling), percent(off.VsCeiling), reqPerSec(on.PerSecond), reqPerSec(off.PerSecond))
	t.Met = rel >= 1-tolerance
	if !t.Met {
		t.Why = fmt.Sprintf("Per %s request, with the idle timeout on and off: Go process %s and %s of CPU, redis-server %s and %s "+
			"(of which Lua %s and %s, %.2f and %.2f scripts per request), near cache hits %s and %s.",
			req, micros(on.CPU), micros(off.CPU), micros(on.RedisCPU), micros(off.RedisCPU),
			micros(on.RedisScripts), micros(off.RedisScripts), on.ScriptsPerReq, off.ScriptsPerReq,
			hitRate(on.HitRate), hitRate(off.HitRate))
		if req == measure.Modifying {
			t.Why += " A modifying load misses the near cache (see the modifying targets), and with the idle timeout on a miss " +
				"loads through the touch script rather than HGETALL: Lua on every request, as without the cache."
		}
	}
	return t
}

// nearWhy explains a missed near-cache throughput target for req: where
// the CPU of a request goes, against a reference setup (scs or the
// ceiling), and why the cache did or did not serve.
func (r *Results) nearWhy(hx measure.Setup, req measure.Request, h LoadSummary, refName string, ref LoadSummary) string {
	var b strings.Builder
	if req == measure.Modifying {
		hit, miss := r.RoundTrips[hx][measure.Modifying], r.RoundTrips[hx][measure.ModMiss]
		fmt.Fprintf(&b, "In a modifying load run every request follows the same client's previous write, and the store drops what it "+
			"wrote from its own near cache (Redis's invalidation of the write follows): the near cache served %s of the loads, "+
			"so a request costs %s (%s), as without the cache; only a modifying request that follows a read costs %s (%s). ",
			hitRate(h.HitRate), plural(miss.Max, "round trip"), code(measure.FormatTrips(miss.Trips)),
			plural(hit.Max, "round trip"), code(measure.FormatTrips(hit.Trips)))
	} else {
		fmt.Fprintf(&b, "The near cache served %s of the loads (0 round trips each). ", hitRate(h.HitRate))
	}
	fmt.Fprintf(&b, "Per request the Go process (HTTP server and client, session middleware, go-redis, the load generator) used %s of CPU "+
		"with the near cache and %s with %s, and redis-server %s and %s.",
		micros(h.CPU), micros(ref.CPU), refName, micros(h.RedisCPU), micros(ref.RedisCPU))
	if c, ok := r.LoadSummary(measure.Ceiling(hx.Idle), req); ok && refName != "no session" {
		fmt.Fprintf(&b, " The same HTTP traffic with no session library at all costs %s in the Go process: that much of every "+
			"library's request is HTTP and the load generator, which no session library can save.", micros(c.CPU))
	}
	if mh, ok := r.Micro[hx][req]; ok {
		if base, ok := r.Baseline[req]; ok && refName == "no session" {
			fmt.Fprintf(&b, " The micro-benchmarks put hexchi's own share of a %s request at %s of CPU and %d allocations "+
				"above the no-session baseline (cookie HMAC check, copying the cached record, decoding the session's JSON, "+
				"the response wrapper, the end-of-request diff).",
				req, micros(time.Duration(mh.CPUNsPerOp-base.CPUNsPerOp)), mh.AllocsPerOp-base.AllocsPerOp)
		}
	}
	if r.Machine.CPUs > 0 {
		fmt.Fprintf(&b, " The %d CPUs were %s with the near cache and %s with %s: ", r.Machine.CPUs, r.busy(h), r.busy(ref), refName)
		hTotal, refTotal := h.CPU+h.RedisCPU, ref.CPU+ref.RedisCPU
		if r.busyShare(h) > cpuBound && hTotal > 0 && refTotal > 0 {
			fmt.Fprintf(&b, "the runs are bound by CPU, and throughput goes as the inverse of the CPU per request: "+
				"%s in all (Go and Redis) with %s against %s with the near cache allows the near cache %.2f× %s's throughput, "+
				"and it reached %.2f×.", micros(refTotal), refName, micros(hTotal), float64(refTotal)/float64(hTotal), refName,
				h.PerSecond/ref.PerSecond)
		} else {
			b.WriteString("not saturated, so part of each request's time is spent waiting for its round trips.")
		}
	}
	return b.String()
}

// cpuBound is the share of the machine's CPU above which a load run counts
// as bound by CPU: on 2 CPUs shared by client, server and Redis, the rest
// is the gaps of waking goroutines and threads.
const cpuBound = 0.75

// busyShare is the share of the machine's CPU a load summary's runs kept
// busy: this process and Redis, plus the other processes.
func (r *Results) busyShare(l LoadSummary) float64 {
	own := l.PerSecond * (l.CPU + l.RedisCPU).Seconds() / float64(r.Machine.CPUs)
	return own + max(l.OtherLoad, 0)
}

// busy shows busyShare, and how much of it other processes took.
func (r *Results) busy(l LoadSummary) string {
	if l.OtherLoad > 0.005 {
		return fmt.Sprintf("%s busy (%s of it other processes)", percent(r.busyShare(l)), percent(l.OtherLoad))
	}
	return percent(r.busyShare(l)) + " busy"
}

// throughputWhy explains a read-only throughput ratio from the CPU and
// round-trip figures of the same load runs.
func (r *Results) throughputWhy(hx, scs measure.Setup, h, s LoadSummary) string {
	ht, st := r.RoundTrips[hx][measure.ReadOnly], r.RoundTrips[scs][measure.ReadOnly]
	why := fmt.Sprintf("Per read-only request hexchi needs %s and scs %s. ", plural(ht.Max, "round trip"), plural(st.Max, "round trip"))
	hTotal, sTotal := h.CPU+h.RedisCPU, s.CPU+s.RedisCPU
	if hTotal <= 0 || sTotal <= 0 || r.Machine.CPUs == 0 {
		return why
	}
	why += fmt.Sprintf("Per request, the Go process (HTTP server and client, session middleware, go-redis) used %s of CPU "+
		"with hexchi and %s with scs, and redis-server %s and %s: %.2f× less CPU in all with hexchi. "+
		"The session middleware accounts for the difference; the rest (HTTP, the load generator, go-redis and its system calls) "+
		"costs both the same and dilutes it. ",
		micros(h.CPU), micros(s.CPU), micros(h.RedisCPU), micros(s.RedisCPU), float64(sTotal)/float64(hTotal))
	if r.busyShare(h) > cpuBound {
		why += fmt.Sprintf("And the %d CPUs were saturated (%s with hexchi, %s with scs), so throughput goes as the inverse of "+
			"the CPU per request.", r.Machine.CPUs, r.busy(h), r.busy(s))
	} else {
		why += fmt.Sprintf("And the %d CPUs were not saturated (%s with hexchi, %s with scs), so part of each request's time is "+
			"spent waiting for its round trips, which cost both the same too.", r.Machine.CPUs, r.busy(h), r.busy(s))
	}
	return why
}

// allocTarget checks that the hexchi setups allocate less than scs, with
// the same idle timeout, for every micro-benchmarked request.
func (r *Results) allocTarget(name string, setups []measure.Setup) Target {
	t := Target{Name: name, Met: true}
	var got, worse []string
	for _, hx := range setups {
		scs := measure.Setup{Library: apps.SCS, Idle: hx.Idle}
		for _, req := range measure.MicroRequests {
			h, ok1 := r.Micro[hx][req]
			s, ok2 := r.Micro[scs][req]
			if !ok1 || !ok2 {
				t.Met = false
				continue
			}
			cell := fmt.Sprintf("%s %s: %d vs %d", req, idleLabel(hx), h.AllocsPerOp, s.AllocsPerOp)
			got = append(got, cell)
			if h.AllocsPerOp >= s.AllocsPerOp {
				t.Met = false
				worse = append(worse, cell)
			}
		}
	}
	t.Measured = strings.Join(got, "; ")
	if len(got) == 0 {
		t.Measured = "not measured"
	}
	if len(worse) > 0 {
		t.Why = "hexchi allocates as much or more for: " + strings.Join(worse, "; ") + "."
	}
	return t
}

// correctnessTarget checks that the setups pass every correctness check.
func (r *Results) correctnessTarget(name string, setups []measure.Setup) Target {
	t := Target{Name: name, Met: true}
	var got, failed []string
	for _, s := range setups {
		pass, ran := 0, 0
		for _, c := range measure.Checks {
			o, ok := r.Correctness[s][c]
			if !ok || !o.Ran {
				continue
			}
			ran++
			if o.Pass {
				pass++
			} else {
				failed = append(failed, fmt.Sprintf("%s (%s): %s", c, s, o.Observed))
			}
		}
		if ran < len(measure.Checks) {
			t.Met = false
		}
		got = append(got, fmt.Sprintf("%s: %d of %d", idleLabel(s), pass, ran))
	}
	t.Measured = strings.Join(got, ", ")
	if len(failed) > 0 {
		t.Met = false
		t.Why = "Failed: " + strings.Join(failed, "; ") + "."
	} else if !t.Met {
		t.Why = "Not every check ran (the deadline check is skipped in quick runs)."
	}
	return t
}

func idleLabel(s measure.Setup) string {
	if s.Idle {
		return "idle on"
	}
	return "idle off"
}
