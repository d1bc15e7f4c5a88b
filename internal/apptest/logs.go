// Package apptest runs the app for tests, in-process with Start or as a
// built binary with Logs as its stdout, and learns the address it listens
// on from its "listening" log record. That lets every test use
// CORE_HTTP_ADDR=127.0.0.1:0 (the test config's address) and run in
// parallel without racing for ports.
package apptest

import (
	"bytes"
	"encoding/json"
	"sync"
)

// Logs is an io.Writer for the app's stdout. It keeps everything written to
// it and watches for the "listening" record, whose addr attribute is the
// bound address. It expects JSON records, one per line, which the test
// config selects (core.log.format: json).
//
// A Logs is safe for concurrent use: the app writes while the test reads.
type Logs struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	scanned   int    // bytes of buf already searched for the listening record
	addr      string // from the listening record, once seen
	listening chan struct{}
}

// NewLogs returns an empty Logs.
func NewLogs() *Logs {
	return &Logs{listening: make(chan struct{})}
}

// Write appends p. Records may arrive split across writes (an exec.Cmd
// copies its pipe in chunks), so only complete lines are searched.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for l.addr == "" {
		rest := l.buf.Bytes()[l.scanned:]
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			break
		}
		l.scanned += end + 1
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(rest[:end], &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
			l.addr = rec.Addr
			close(l.listening)
		}
	}
	return len(p), nil
}

// Listening returns a channel that is closed once the listening record has
// been written; Addr then returns the address.
func (l *Logs) Listening() <-chan struct{} {
	return l.listening
}

// Addr returns the address the app listens on, or "" before Listening.
func (l *Logs) Addr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addr
}

// String returns everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Records returns the JSON records written so far, skipping lines that are
// not JSON objects.
func (l *Logs) Records() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var records []map[string]any
	for line := range bytes.Lines(l.buf.Bytes()) {
		var rec map[string]any
		if json.Unmarshal(line, &rec) == nil {
			records = append(records, rec)
		}
	}
	return records
}
