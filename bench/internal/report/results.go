// Package report turns the measurements of package measure into
// docs/benchmarks.md and its SVG chart. It computes the summaries (medians,
// ratios, targets met) but measures nothing itself.
package report

import (
	"slices"
	"time"

	"github.com/hexchi/starter/bench/internal/apps"
	"github.com/hexchi/starter/bench/internal/measure"
)

// Results is everything one run of the report command measured.
type Results struct {
	Generated time.Time
	Elapsed   time.Duration // the whole run, up to writing the files
	Machine   Machine
	Modules   []Module
	Run       RunConfig

	RoundTrips  map[measure.Setup]map[measure.Request]measure.RoundTrips
	Micro       map[measure.Setup]map[measure.Request]Micro
	Baseline    map[measure.Request]Micro // the routes without a session library
	Load        []LoadRun
	Correctness map[measure.Setup]map[measure.Check]measure.Outcome
	// Lag is the cross-replica lag of the setups it was measured on.
	Lag map[measure.Setup]map[measure.LagAction]measure.Lag
}

// RunConfig is how the run was configured.
type RunConfig struct {
	Quick       bool // a smoke run: too short for its figures to mean much
	Clients     int
	Warmup      time.Duration
	Duration    time.Duration
	Reps        int // rounds of hexchi and scs load runs kept per request kind and idle setting
	GorillaReps int // rounds with a gorilla run kept per request kind
	// MaxOtherLoad is the share of the machine's CPU that other processes
	// may use during a load run; a round with a run above it is discarded
	// and run again, up to Reps more rounds.
	MaxOtherLoad float64
	BenchTime    time.Duration // testing.B's -benchtime
	BenchCount   int           // runs of each micro-benchmark; the report gives the median
	LagTrials    int           // trials of each cross-replica lag measurement
	Command      string        // how to rerun it
}

// Micro is one micro-benchmark's result.
type Micro struct {
	N           int
	NsPerOp     float64
	CPUNsPerOp  float64 // 0 when not measured
	AllocsPerOp int64
	BytesPerOp  int64
	// OtherLoad is the share of the CPU other processes took during the
	// run (see measure.LoadResult.OtherLoad); -1 if not measured.
	OtherLoad float64
}

// LoadRun is one load run.
type LoadRun struct {
	Setup   measure.Setup
	Request measure.Request
	Rep     int // 0-based; runs with the same Rep, Request and idle setting were interleaved
	Result  measure.LoadResult
	// Discarded marks a run of a round in which some run competed with
	// other processes for more than MaxOtherLoad of the CPU.
	Discarded bool
}

// LoadSummary is the median over the kept runs of one setup and request.
type LoadSummary struct {
	Runs      int // runs summarised
	Discarded int // runs left out because other work disturbed them
	// AllDisturbed is set when every run was disturbed, and all of them
	// are summarised.
	AllDisturbed bool
	// OtherLoad is the median share of the CPU that other processes took
	// in the runs summarised; -1 if not measured.
	OtherLoad float64
	PerSecond float64
	P50, P99  time.Duration
	CPU       time.Duration
	RedisCPU  time.Duration
	// RedisScripts is the part of RedisCPU spent in Lua, ScriptsPerReq
	// the scripts per request.
	RedisScripts  time.Duration
	ScriptsPerReq float64
	// HitRate is the median share of loads the near cache served; -1
	// without a near cache.
	HitRate float64
	Errors  int // summed over the runs
	// RatioVsSCS is the median over the interleaved pairs of
	// this.PerSecond / scs.PerSecond (same request, same idle setting);
	// 0 for scs itself or when there is no pair. RatioMin and RatioMax
	// are the lowest and highest pair ratios.
	RatioVsSCS, RatioMin, RatioMax float64
	// VsCeiling is the same against the no-session app of the same
	// rounds: the share of the ceiling the setup reached; 0 for the
	// ceiling itself or when there is no pair.
	VsCeiling, CeilingMin, CeilingMax float64
}

// LoadSummary returns the summary of setup's runs of req; ok is false if
// there were none. Discarded runs are left out, unless every run was
// discarded: then all of them are summarised, and Discarded is 0.
func (r *Results) LoadSummary(setup measure.Setup, req measure.Request) (LoadSummary, bool) {
	var s LoadSummary
	useDiscarded := true
	for _, run := range r.Load {
		if run.Setup == setup && run.Request == req {
			if run.Discarded {
				s.Discarded++
			} else {
				useDiscarded = false
			}
		}
	}
	if useDiscarded {
		s.AllDisturbed = s.Discarded > 0
		s.Discarded = 0
	}
	var perSec, vsSCS, vsCeiling, perReq, hitRates, others []float64
	var p50, p99, cpu, redisCPU, scripts []time.Duration
	// pair returns this run's throughput over other's in the same round.
	pair := func(run LoadRun, other measure.Setup) (float64, bool) {
		for _, o := range r.Load {
			if o.Setup == other && o.Request == req && o.Rep == run.Rep && o.Result.PerSecond > 0 &&
				(!o.Discarded || useDiscarded) {
				return run.Result.PerSecond / o.Result.PerSecond, true
			}
		}
		return 0, false
	}
	for _, run := range r.Load {
		if run.Setup != setup || run.Request != req || run.Discarded && !useDiscarded {
			continue
		}
		res := run.Result
		perSec = append(perSec, res.PerSecond)
		p50, p99 = append(p50, res.P50), append(p99, res.P99)
		cpu, redisCPU = append(cpu, res.CPU), append(redisCPU, res.RedisCPU)
		scripts, perReq = append(scripts, res.RedisScripts), append(perReq, res.ScriptsPerReq)
		if hr := res.HitRate(); hr >= 0 {
			hitRates = append(hitRates, hr)
		}
		if res.OtherLoad >= 0 {
			others = append(others, res.OtherLoad)
		}
		s.Errors += res.Errors
		if setup.Library == apps.NoSession {
			continue
		}
		if setup.Library != apps.SCS {
			if v, ok := pair(run, measure.Setup{Library: apps.SCS, Idle: setup.Idle}); ok {
				vsSCS = append(vsSCS, v)
			}
		}
		if v, ok := pair(run, measure.Ceiling(setup.Idle)); ok {
			vsCeiling = append(vsCeiling, v)
		}
	}
	if len(perSec) == 0 {
		return s, false
	}
	s.Runs = len(perSec)
	s.PerSecond = median(perSec)
	s.P50, s.P99 = median(p50), median(p99)
	s.CPU, s.RedisCPU = median(cpu), median(redisCPU)
	s.RedisScripts, s.ScriptsPerReq = median(scripts), median(perReq)
	s.HitRate, s.OtherLoad = -1, -1
	if len(hitRates) > 0 {
		s.HitRate = median(hitRates)
	}
	if len(others) > 0 {
		s.OtherLoad = median(others)
	}
	if len(vsSCS) > 0 {
		s.RatioVsSCS = median(vsSCS)
		s.RatioMin, s.RatioMax = slices.Min(vsSCS), slices.Max(vsSCS)
	}
	if len(vsCeiling) > 0 {
		s.VsCeiling = median(vsCeiling)
		s.CeilingMin, s.CeilingMax = slices.Min(vsCeiling), slices.Max(vsCeiling)
	}
	return s, true
}

// median returns the median of v (the mean of the middle two for an even
// length); zero for none.
func median[T float64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// discardedRuns returns how many load runs were discarded, of how many.
func (r *Results) discardedRuns() (discarded, total int) {
	for _, run := range r.Load {
		if run.Discarded {
			discarded++
		}
	}
	return discarded, len(r.Load)
}

// microOtherLoad returns the median and highest other load of the kept
// micro-benchmark medians; ok is false if it was not measured.
func (r *Results) microOtherLoad() (med, highest float64, ok bool) {
	var v []float64
	for _, byReq := range r.Micro {
		for _, m := range byReq {
			if m.OtherLoad >= 0 {
				v = append(v, m.OtherLoad)
			}
		}
	}
	if len(v) == 0 {
		return 0, 0, false
	}
	return median(v), slices.Max(v), true
}

// MedianMicro combines runs of one micro-benchmark: the median of each
// figure. Allocations are all but deterministic, so their median is the
// typical count.
func MedianMicro(runs []Micro) Micro {
	var n, allocs, bytes, ns, cpu, other []float64
	for _, m := range runs {
		n = append(n, float64(m.N))
		other = append(other, m.OtherLoad)
		ns = append(ns, m.NsPerOp)
		cpu = append(cpu, m.CPUNsPerOp)
		allocs = append(allocs, float64(m.AllocsPerOp))
		bytes = append(bytes, float64(m.BytesPerOp))
	}
	return Micro{
		N:           int(median(n)),
		NsPerOp:     median(ns),
		CPUNsPerOp:  median(cpu),
		AllocsPerOp: int64(median(allocs) + 0.5),
		BytesPerOp:  int64(median(bytes) + 0.5),
		OtherLoad:   median(other),
	}
}
