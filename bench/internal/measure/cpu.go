package measure

import (
	"runtime"
	"time"
)

// sample is the CPU clocks read at one instant: this process's CPU time,
// redis-server's, and the whole machine's busy time; -1 for a clock that
// could not be read.
type sample struct {
	proc, redis, machine time.Duration
}

// takeSample reads the clocks now. redisCPU may be nil.
func takeSample(redisCPU func() (time.Duration, error)) (sample, error) {
	proc, err := processCPU()
	if err != nil {
		return sample{}, err
	}
	s := sample{proc: proc, redis: -1, machine: -1}
	if redisCPU != nil {
		if r, err := redisCPU(); err == nil {
			s.redis = r
		}
	}
	if m, err := machineBusy(); err == nil {
		s.machine = m
	}
	return s, nil
}

// otherLoad returns the share of the machine's CPU time (0 to 1) that
// processes other than this one and Redis used between s0 and s1, wall
// apart; -1 if a clock is missing.
func otherLoad(s0, s1 sample, wall time.Duration) float64 {
	if s0.redis < 0 || s1.redis < 0 || s0.machine < 0 || s1.machine < 0 || wall <= 0 {
		return -1
	}
	others := (s1.machine - s0.machine) - (s1.proc - s0.proc) - (s1.redis - s0.redis)
	return max(0, float64(others)/float64(wall*time.Duration(runtime.NumCPU())))
}

// OtherLoad runs f and returns the share of the machine's CPU that
// processes other than this one and Redis took meanwhile (see
// LoadResult.OtherLoad); -1 if it cannot be measured. redisCPU reads
// redis-server's CPU time.
func OtherLoad(redisCPU func() (time.Duration, error), f func()) float64 {
	s0, err0 := takeSample(redisCPU)
	start := time.Now()
	f()
	wall := time.Since(start)
	s1, err1 := takeSample(redisCPU)
	if err0 != nil || err1 != nil {
		return -1
	}
	return otherLoad(s0, s1, wall)
}
