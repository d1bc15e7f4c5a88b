package measure

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// userHZ is the unit of the times in /proc/stat: USER_HZ, which is 100 on
// every architecture Go supports on Linux.
const userHZ = 100

// machineBusy returns the CPU time every process on the machine has used
// since boot, all CPUs together: the first line of /proc/stat less idle
// and iowait. Measured over a window, less this process's and Redis's
// share, it tells how much other work disturbed a run.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("machine cpu time: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 6 || string(f[0]) != "cpu" {
		return 0, errors.New("machine cpu time: unexpected /proc/stat format")
	}
	var busy int64
	// user nice system idle iowait irq softirq steal; guest time is
	// already counted in user and nice.
	for i, v := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("machine cpu time: %w", err)
		}
		if i != 3 && i != 4 { // not idle, not iowait
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / userHZ, nil
}
