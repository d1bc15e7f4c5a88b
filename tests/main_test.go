package tests

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// TestMain runs the suite, then says in one line how many tests skipped and
// why. `go test ./...` prints nothing of a package that passes but its "ok"
// line, so a suite that skipped for want of Docker would look like a suite
// that ran; the line goes to the terminal (where a person runs go test),
// and nowhere when there is none (CI, where a skip fails the test anyway).
func TestMain(m *testing.M) {
	code := m.Run()
	if n, first := skipped.summary(); n > 0 && !testing.Verbose() {
		line := fmt.Sprintf("tests: %d integration tests skipped (go test -v ./tests/ lists them): %s\n", n, first)
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			_, _ = tty.WriteString(line)
			_ = tty.Close()
		} else {
			_, _ = os.Stderr.WriteString(line)
		}
	}
	os.Exit(code)
}

// skipped counts the tests that unavailable skipped.
var skipped skips

type skips struct {
	mu    sync.Mutex
	n     int
	first string
}

func (s *skips) add(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		s.first = why
	}
	s.n++
}

func (s *skips) summary() (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.first
}
