package rtproxy

import (
	"bytes"
	"strconv"
	"strings"
)

// maxPending bounds what a commandParser buffers while it waits for the
// rest of a command. Session commands are a few hundred bytes; a longer one
// (or garbage that looks like a huge length) is given up on, not buffered.
const maxPending = 1 << 20

// commandParser reads command names from a client's byte stream, which
// arrives in chunks that need not end at command boundaries. Clients send
// every command as a RESP array of bulk strings: *<n>\r\n then n times
// $<len>\r\n<bytes>\r\n. The parser only reports names; the bytes are
// forwarded untouched by the proxy, parsed or not.
type commandParser struct {
	pending []byte
	broken  bool // the stream stopped being RESP; stop parsing it
}

// feed adds a chunk and returns the names (upper case) of the commands it
// completed. Once the stream is not RESP it returns "?" for each chunk.
func (p *commandParser) feed(chunk []byte) []string {
	if p.broken {
		return []string{"?"}
	}
	p.pending = append(p.pending, chunk...)
	var names []string
	for {
		name, n, ok := parseCommand(p.pending)
		if !ok {
			p.broken = true
			p.pending = nil
			return append(names, "?")
		}
		if n == 0 { // incomplete: wait for the next chunk
			if len(p.pending) > maxPending {
				p.broken = true
				p.pending = nil
				return append(names, "?")
			}
			return names
		}
		names = append(names, name)
		p.pending = p.pending[n:]
		if len(p.pending) == 0 {
			p.pending = p.pending[:0:0] // let the backing array go
			return names
		}
	}
}

// parseCommand parses one command at the start of b. It returns the
// command's name and length, n = 0 if b holds only part of it, and ok =
// false if b does not start with a RESP array of bulk strings.
func parseCommand(b []byte) (name string, n int, ok bool) {
	if len(b) == 0 {
		return "", 0, true
	}
	count, i, ok := parseHeader(b, 0, '*')
	if !ok || i == 0 {
		return "", 0, ok
	}
	if count < 1 {
		return "", 0, false
	}
	for arg := range count {
		size, j, ok := parseHeader(b, i, '$')
		if !ok || j == 0 {
			return "", 0, ok
		}
		if size < 0 {
			return "", 0, false
		}
		end := j + size + 2
		if end > len(b) || end < j { // incomplete (end < j: size overflowed)
			return "", 0, true
		}
		if b[end-2] != '\r' || b[end-1] != '\n' {
			return "", 0, false
		}
		if arg == 0 {
			name = strings.ToUpper(string(b[j : j+size]))
		}
		i = end
	}
	return name, i, true
}

// parseHeader parses "<kind><decimal>\r\n" at b[i:]. It returns the number
// and the offset after the line, or next = 0 if the line is incomplete.
func parseHeader(b []byte, i int, kind byte) (v, next int, ok bool) {
	if i >= len(b) {
		return 0, 0, true
	}
	if b[i] != kind {
		return 0, 0, false
	}
	end := bytes.Index(b[i:], []byte("\r\n"))
	if end < 0 {
		// A header is a few digits; a long line without CRLF is not RESP.
		return 0, 0, len(b)-i < 24
	}
	v, err := strconv.Atoi(string(b[i+1 : i+end]))
	if err != nil {
		return 0, 0, false
	}
	return v, i + end + 2, true
}
