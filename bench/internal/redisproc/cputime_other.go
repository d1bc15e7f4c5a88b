//go:build !linux

package redisproc

import (
	"errors"
	"time"
)

// CPUTime is only implemented on Linux, where /proc has it.
func (s *Server) CPUTime() (time.Duration, error) {
	return 0, errors.New("redis cpu time: only measured on Linux")
}
