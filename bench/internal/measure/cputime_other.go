//go:build !unix

package measure

import (
	"errors"
	"time"
)

// processCPU is only measured on Unix systems, which have getrusage.
func processCPU() (time.Duration, error) {
	return 0, errors.New("process cpu time: only measured on Unix")
}
