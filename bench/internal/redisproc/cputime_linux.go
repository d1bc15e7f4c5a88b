package redisproc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat. The kernel
// exposes them in USER_HZ, which is 100 on every architecture Go supports
// on Linux.
const userHZ = 100

var errUnexpectedStat = errors.New("redis cpu time: unexpected /proc stat format")

// CPUTime returns the CPU time (user and system) the server has used so
// far, from /proc. Its resolution is 10 ms, so compare it over seconds.
func (s *Server) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.PID()))
	if err != nil {
		return 0, fmt.Errorf("redis cpu time: %w", err)
	}
	// The command name, field 2, is in parentheses and may contain spaces:
	// count fields from the last ')'. utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errUnexpectedStat
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errUnexpectedStat
	}
	var ticks int64
	for _, v := range f[11:13] { // fields 14 and 15, counted from field 3
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("redis cpu time: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
