package report

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hexchi/starter/bench/internal/apps"
	"github.com/hexchi/starter/bench/internal/measure"
)

// fakeResults is a small run in which hexchi misses the read-only
// throughput target with the idle timeout off.
func fakeResults() *Results {
	r := &Results{
		Generated:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Elapsed:     200 * time.Second,
		Machine:     Machine{CPUs: 2, GOMAXPROCS: 2, CPUModel: "Test CPU", Go: "go1.26", Redis: "7.0.15"},
		Run:         RunConfig{Clients: 16, Warmup: time.Second / 2, Duration: 3 * time.Second, Reps: 2, GorillaReps: 1, MaxOtherLoad: 0.1, BenchTime: time.Second, BenchCount: 3, Command: "go run ./cmd/report"},
		RoundTrips:  map[measure.Setup]map[measure.Request]measure.RoundTrips{},
		Micro:       map[measure.Setup]map[measure.Request]Micro{},
		Correctness: map[measure.Setup]map[measure.Check]measure.Outcome{},
	}
	trips := map[measure.Request]int{measure.ReadOnly: 1, measure.Modifying: 2, measure.Forged: 0, measure.Login: 2}
	nearTrips := map[measure.Request]int{measure.ReadOnly: 0, measure.ReadMiss: 1, measure.Modifying: 1, measure.ModMiss: 2, measure.Forged: 0, measure.Login: 2}
	for _, s := range measure.Setups() {
		r.RoundTrips[s] = map[measure.Request]measure.RoundTrips{}
		byReq := trips
		if s.Near {
			byReq = nearTrips
		}
		for req, n := range byReq {
			r.RoundTrips[s][req] = measure.RoundTrips{Applies: true, Min: n, Max: n, Trips: []string{"GET"}[:min(n, 1)]}
		}
		r.Micro[s] = map[measure.Request]Micro{}
		allocs := int64(100)
		if s.Library == apps.Hexchi {
			allocs = 50
		}
		for _, req := range measure.MicroRequests {
			r.Micro[s][req] = Micro{N: 1000, NsPerOp: 50000, CPUNsPerOp: 30000, AllocsPerOp: allocs, BytesPerOp: 9000}
		}
		r.Correctness[s] = map[measure.Check]measure.Outcome{}
		for _, c := range measure.Checks {
			r.Correctness[s][c] = measure.Outcome{Ran: true, Pass: s.Library == apps.Hexchi, Observed: "seen <&>"}
		}
	}
	// The load rounds: every setup and the ceilings. The near cache reaches
	// 2.4× scs read-only (a missed 2.5× target) and 92% of the ceiling.
	for _, s := range append(measure.Setups(), measure.Ceiling(false), measure.Ceiling(true)) {
		for rep := range r.Run.Reps {
			perSec := map[apps.Library]float64{apps.Hexchi: 1100, apps.SCS: 1000, apps.Gorilla: 900, apps.NoSession: 2600}[s.Library]
			if s.Near {
				perSec = 2400
			}
			if s.Idle {
				perSec *= 0.9
				if s.Library == apps.Hexchi && !s.Near {
					perSec *= 2
				}
			}
			for _, req := range measure.LoadRequests {
				res := measure.LoadResult{
					Requests: 3000, PerSecond: perSec + float64(rep), P50: time.Millisecond, P99: 5 * time.Millisecond, OtherLoad: 0.2,
					CPU: 100 * time.Microsecond, RedisCPU: 20 * time.Microsecond, RedisScripts: 5 * time.Microsecond, ScriptsPerReq: 1,
				}
				if s.Near {
					res.CacheHits, res.CacheMisses = 2990, 10
				}
				r.Load = append(r.Load, LoadRun{Setup: s, Request: req, Rep: rep, Result: res})
			}
		}
	}
	r.Lag = map[measure.Setup]map[measure.LagAction]measure.Lag{}
	for _, s := range []measure.Setup{{Library: apps.Hexchi}, {Library: apps.Hexchi, Near: true}} {
		r.Lag[s] = map[measure.LagAction]measure.Lag{}
		for _, a := range measure.LagActions {
			r.Lag[s][a] = measure.Lag{Trials: 1000, P50: 40 * time.Microsecond, P99: 200 * time.Microsecond, Max: 3 * time.Millisecond, Accepted: 7, MaxAccepted: 3, Poll: 30 * time.Microsecond}
		}
	}
	r.Run.LagTrials = 1000
	disturbed := r.Micro[measure.Setup{Library: apps.SCS}][measure.Login]
	disturbed.OtherLoad = 0.5
	r.Micro[measure.Setup{Library: apps.SCS}][measure.Login] = disturbed
	r.Baseline = map[measure.Request]Micro{}
	for _, req := range measure.MicroRequests {
		r.Baseline[req] = Micro{N: 1000, NsPerOp: 5000, CPUNsPerOp: 5000, AllocsPerOp: 20, BytesPerOp: 7000}
	}
	// A third round that other work disturbed: listed, but not summarised.
	for _, lib := range []apps.Library{apps.Hexchi, apps.SCS} {
		r.Load = append(r.Load, LoadRun{Setup: measure.Setup{Library: lib}, Request: measure.ReadOnly, Rep: 2, Discarded: true,
			Result: measure.LoadResult{Requests: 30, PerSecond: 10, P50: time.Second, P99: time.Second, OtherLoad: 0.6}})
	}
	return r
}

func TestMarkdown(t *testing.T) {
	md := fakeResults().Markdown("benchmarks.svg")
	for _, want := range []string{
		"## Targets", "## Machine and versions", "## Method", "## 1. Redis round trips per request",
		"## 2. Allocations and time per request", "## 3. Throughput and latency under load", "## 4. Correctness", "## Reproduce",
		"![Throughput", "(benchmarks.svg)", "The machine was not idle", "60% (round discarded)", "| 2 (+1 discarded) |",
		"| Read-only throughput ≥ 1.2× scs, idle timeout off | 1.10×, rounds 1.10–1.10", "**missed**",
		"Why targets were missed", "costs both the same and dilutes it", "(CPU 30.0 µs) ⚠ |", "⚠ marks a benchmark", "| Read-only throughput ≥ 1.5× scs, idle timeout on | 2.20×",
		"### Hexchi with the near cache", "| Read-only throughput ≥ 2.5× scs, idle timeout off | 2.40×", "The near cache served 99.7% of the loads",
		"| Read-only throughput ≥ 80% of the no-session ceiling, idle timeout off | 92%", "| Read-only request on a cache hit: 0 round trips",
		"### Redis's CPU per request", "| hexchi, near cache | 20.0 µs (Lua 5.0 µs, 1.00 scripts)", "| read-only | no session | 2 | 2\u2009601 | — | — |",
		"### Cross-replica lag", "| logout | hexchi, near cache | 1000 | 40.0 µs | 200.0 µs | 3.00 ms | 7 (3) | 30.0 µs |",
		"✅ rejected by the other replica within 3.00 ms in all 3000 trials", "| A session ended on one replica", "1000 trials per cell",
		"| read-only | hexchi, near cache | 2 | 2\u2009401 | 2.40× (2.40–2.40) | 92% (92%–92%) |", "| 99.7% |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	for name, r := range map[string]*Results{"full": fakeResults(), "empty": {}} {
		svg := r.ThroughputSVG()
		d := xml.NewDecoder(strings.NewReader(svg))
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, svg)
			}
		}
		if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
			t.Errorf("%s: chart has NaN or Inf coordinates", name)
		}
	}
}

func TestSummary(t *testing.T) {
	r := fakeResults()
	s, ok := r.LoadSummary(measure.Setup{Library: apps.Hexchi}, measure.ReadOnly)
	if !ok || s.Runs != 2 || s.Discarded != 1 || s.PerSecond != 1100.5 {
		t.Fatalf("summary %+v", s)
	}
	// Round 1: 1100/1000, round 2: 1101/1001; the median of two is their mean.
	if want := (1100.0/1000 + 1101.0/1001) / 2; math.Abs(s.RatioVsSCS-want) > 1e-9 {
		t.Errorf("ratio %v, want %v", s.RatioVsSCS, want)
	}
	if _, ok := r.LoadSummary(measure.Setup{Library: apps.Gorilla, Idle: true}, measure.ReadOnly); ok {
		t.Error("a summary of runs that never happened")
	}
	// The ceiling of the same rounds: (1100/2600 + 1101/2601) / 2.
	if want := (1100.0/2600 + 1101.0/2601) / 2; math.Abs(s.VsCeiling-want) > 1e-9 || s.HitRate != -1 {
		t.Errorf("share of the ceiling %v, want %v; hit rate %v", s.VsCeiling, want, s.HitRate)
	}
	n, _ := r.LoadSummary(measure.Setup{Library: apps.Hexchi, Near: true}, measure.ReadOnly)
	if math.Abs(n.HitRate-2990.0/3000) > 1e-9 || n.RatioVsSCS < 2.39 || n.RatioVsSCS > 2.41 {
		t.Errorf("near cache summary %+v", n)
	}
	if c, _ := r.LoadSummary(measure.Ceiling(false), measure.ReadOnly); c.VsCeiling != 0 || c.RatioVsSCS != 0 {
		t.Errorf("the ceiling compared with itself or scs: %+v", c)
	}
}

func TestNiceStep(t *testing.T) {
	for raw, want := range map[float64]float64{0: 1, 0.3: 0.5, 1: 1, 1.5: 2, 3: 5, 7: 10, 2400: 5000} {
		if got := niceStep(raw); got != want {
			t.Errorf("niceStep(%v) = %v, want %v", raw, got, want)
		}
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Minute: "30 min", 251 * time.Second: "4 min 11 s", 3 * time.Second: "3 s", 500 * time.Millisecond: "500ms",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%v) = %q, want %q", d, got, want)
		}
	}
}
