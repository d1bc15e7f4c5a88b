//go:build !linux

package measure

import (
	"errors"
	"time"
)

// machineBusy is only measured on Linux, from /proc/stat.
func machineBusy() (time.Duration, error) {
	return 0, errors.New("machine cpu time: only measured on Linux")
}
