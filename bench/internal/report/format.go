package report

import (
	"fmt"
	"strconv"
	"time"

	"github.com/hexchi/starter/bench/internal/measure"
)

// tripCount shows a round-trip count: "1", "1–2" if the measurements
// disagreed, "n/a" where the request does not apply.
func tripCount(rt measure.RoundTrips) string {
	switch {
	case !rt.Applies:
		return "n/a"
	case rt.Min == rt.Max:
		return strconv.Itoa(rt.Max)
	}
	return fmt.Sprintf("%d–%d", rt.Min, rt.Max)
}

// reqPerSec shows a throughput with a thin space between thousands.
func reqPerSec(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "\u2009" + s[i:]
	}
	return s
}

// micros shows a duration in microseconds.
func micros(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}

// latency shows a latency in µs below a millisecond, in ms above.
func latency(d time.Duration) string {
	if d < time.Millisecond {
		return micros(d)
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// plural shows a count with its noun: "1 round trip", "2 round trips".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// ratio shows a throughput ratio, "—" for none.
func ratio(r float64) string {
	if r == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", r)
}

// human shows a duration the way a reader says it: "30 min", "3 s",
// "500ms".
func human(d time.Duration) string {
	switch {
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%d min %d s", d/time.Minute, d%time.Minute/time.Second)
	case d >= time.Second && d%time.Second == 0:
		return fmt.Sprintf("%d s", d/time.Second)
	}
	return d.String()
}

// percent shows a share (0 to 1), "?" for a negative one (not measured).
func percent(v float64) string {
	if v < 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", v*100)
}
