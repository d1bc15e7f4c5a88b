package report

import (
	"fmt"
	"strings"

	"github.com/hexchi/starter/bench/internal/apps"
	"github.com/hexchi/starter/bench/internal/measure"
)

// Target is a figure hexchi aims for (from the issue and DESIGN §3), with
// what the run measured. Targets are reported, never asserted.
type Target struct {
	Name     string
	Measured string
	Met      bool
	// Why explains a missed target from the run's own figures.
	Why string
}

var (
	hexchiOff = measure.Setup{Library: apps.Hexchi}
	hexchiOn  = measure.Setup{Library: apps.Hexchi, Idle: true}
	scsOff    = measure.Setup{Library: apps.SCS}
	scsOn     = measure.Setup{Library: apps.SCS, Idle: true}
)

// Targets evaluates every target against the results.
func (r *Results) Targets() []Target {
	return []Target{
		r.tripsTarget("Read-only request: 1 Redis round trip", measure.ReadOnly, 1),
		r.throughputTarget(false, 1.2),
		r.throughputTarget(true, 1.5),
		r.tripsTarget("Modifying request: 2 round trips", measure.Modifying, 2),
		r.tripsTarget("Forged cookie: 0 round trips", measure.Forged, 0),
		r.tripsTarget("Login: at most 3 round trips (DESIGN §3)", measure.Login, 3),
		r.allocTarget(),
		r.correctnessTarget(),
	}
}

// tripsTarget checks that hexchi needs at most want round trips for req,
// with the idle timeout off and on. Fewer than want is only a pass for the
// budgets that say "at most" (login); the others are exact.
func (r *Results) tripsTarget(name string, req measure.Request, want int) Target {
	t := Target{Name: name, Met: true}
	var got []string
	for _, s := range []measure.Setup{hexchiOff, hexchiOn} {
		rt, ok := r.RoundTrips[s][req]
		if !ok || !rt.Applies {
			t.Met = false
			got = append(got, s.String()+": not measured")
			continue
		}
		got = append(got, fmt.Sprintf("%s: %s", idleLabel(s), tripCount(rt)))
		exact := req != measure.Login
		if rt.Max > want || exact && rt.Min != want {
			t.Met = false
			t.Why = fmt.Sprintf("%s sent %s for a %s request.", s, measure.FormatTrips(rt.Trips), req)
		}
	}
	t.Measured = strings.Join(got, ", ")
	return t
}

// throughputTarget checks hexchi's read-only throughput against scs's.
func (r *Results) throughputTarget(idle bool, want float64) Target {
	hx, scs := hexchiOff, scsOff
	name := fmt.Sprintf("Read-only throughput ≥ %.1f× scs, idle timeout off", want)
	if idle {
		hx, scs = hexchiOn, scsOn
		name = fmt.Sprintf("Read-only throughput ≥ %.1f× scs, idle timeout on", want)
	}
	t := Target{Name: name}
	h, ok1 := r.LoadSummary(hx, measure.ReadOnly)
	s, ok2 := r.LoadSummary(scs, measure.ReadOnly)
	if !ok1 || !ok2 || h.RatioVsSCS == 0 {
		t.Measured = "not measured"
		return t
	}
	t.Measured = fmt.Sprintf("%.2f×, rounds %.2f–%.2f (%s vs %s req/s)",
		h.RatioVsSCS, h.RatioMin, h.RatioMax, reqPerSec(h.PerSecond), reqPerSec(s.PerSecond))
	t.Met = h.RatioVsSCS >= want
	if !t.Met {
		t.Why = r.throughputWhy(hx, scs, h, s)
	}
	return t
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
	use := func(l LoadSummary) string {
		return percent(l.PerSecond * (l.CPU + l.RedisCPU).Seconds() / float64(r.Machine.CPUs))
	}
	why += fmt.Sprintf("Per request, the Go process (HTTP server and client, session middleware, go-redis) used %s of CPU "+
		"with hexchi and %s with scs, and redis-server %s and %s: %.2f× less CPU in all with hexchi. "+
		"The session middleware accounts for the difference; the rest (HTTP, the load generator, go-redis and its system calls) "+
		"costs both the same and dilutes it. And the %d CPUs were not saturated (%s busy with hexchi, %s with scs), "+
		"so part of each request's time is spent waiting for its round trips, which cost both the same too.",
		micros(h.CPU), micros(s.CPU), micros(h.RedisCPU), micros(s.RedisCPU), float64(sTotal)/float64(hTotal),
		r.Machine.CPUs, use(h), use(s))
	return why
}

// allocTarget checks that hexchi allocates less than scs for every
// micro-benchmarked request, idle timeout off and on.
func (r *Results) allocTarget() Target {
	t := Target{Name: "Fewer allocations per request than scs", Met: true}
	var got, worse []string
	for _, pair := range [][2]measure.Setup{{hexchiOff, scsOff}, {hexchiOn, scsOn}} {
		for _, req := range measure.MicroRequests {
			h, ok1 := r.Micro[pair[0]][req]
			s, ok2 := r.Micro[pair[1]][req]
			if !ok1 || !ok2 {
				t.Met = false
				continue
			}
			cell := fmt.Sprintf("%s %s: %d vs %d", req, idleLabel(pair[0]), h.AllocsPerOp, s.AllocsPerOp)
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

// correctnessTarget checks that hexchi passes every correctness check.
func (r *Results) correctnessTarget() Target {
	t := Target{Name: "Every correctness check passes for hexchi", Met: true}
	var got, failed []string
	for _, s := range []measure.Setup{hexchiOff, hexchiOn} {
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
