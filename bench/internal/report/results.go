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
	PerSecond float64
	P50, P99  time.Duration
	CPU       time.Duration
	RedisCPU  time.Duration
	Errors    int // summed over the runs
	// RatioVsSCS is the median over the interleaved pairs of
	// this.PerSecond / scs.PerSecond (same request, same idle setting);
	// 0 for scs itself or when there is no pair. RatioMin and RatioMax
	// are the lowest and highest pair ratios.
	RatioVsSCS, RatioMin, RatioMax float64
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
		s.Discarded = 0
	}
	var perSec, ratios []float64
	var p50, p99, cpu, redisCPU []time.Duration
	for _, run := range r.Load {
		if run.Setup != setup || run.Request != req || run.Discarded && !useDiscarded {
			continue
		}
		res := run.Result
		perSec = append(perSec, res.PerSecond)
		p50, p99 = append(p50, res.P50), append(p99, res.P99)
		cpu, redisCPU = append(cpu, res.CPU), append(redisCPU, res.RedisCPU)
		s.Errors += res.Errors
		if setup.Library == apps.SCS {
			continue
		}
		scs := measure.Setup{Library: apps.SCS, Idle: setup.Idle}
		for _, other := range r.Load {
			if other.Setup == scs && other.Request == req && other.Rep == run.Rep && other.Result.PerSecond > 0 &&
				(!other.Discarded || useDiscarded) {
				ratios = append(ratios, res.PerSecond/other.Result.PerSecond)
			}
		}
	}
	if len(perSec) == 0 {
		return s, false
	}
	s.Runs = len(perSec)
	s.PerSecond = median(perSec)
	s.P50, s.P99 = median(p50), median(p99)
	s.CPU, s.RedisCPU = median(cpu), median(redisCPU)
	if len(ratios) > 0 {
		s.RatioVsSCS = median(ratios)
		s.RatioMin, s.RatioMax = slices.Min(ratios), slices.Max(ratios)
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
