package rtproxy

import (
	"slices"
	"testing"
)

// resp encodes a command as a client sends it.
func resp(args ...string) string {
	s := "*" + itoa(len(args)) + "\r\n"
	for _, a := range args {
		s += "$" + itoa(len(a)) + "\r\n" + a + "\r\n"
	}
	return s
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestParserSplitsAnywhere(t *testing.T) {
	stream := resp("hgetall", "k") + resp("EVAL", "return 1", "1", "k\r\nwith crlf") + resp("del", "k")
	want := []string{"HGETALL", "EVAL", "DEL"}
	// Every split of the stream into two chunks gives the same commands.
	for cut := range len(stream) + 1 {
		var p commandParser
		got := append(p.feed([]byte(stream[:cut])), p.feed([]byte(stream[cut:]))...)
		if !slices.Equal(got, want) {
			t.Fatalf("cut at %d: got %q, want %q", cut, got, want)
		}
	}
	// So does feeding it one byte at a time.
	var p commandParser
	var got []string
	for i := range len(stream) {
		got = append(got, p.feed([]byte{stream[i]})...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("byte by byte: got %q, want %q", got, want)
	}
}

func TestParserGivesUpOnGarbage(t *testing.T) {
	for _, in := range []string{
		"PING\r\n",                        // an inline command
		"*1\r\n:5\r\n",                    // not a bulk string
		"*0\r\n",                          // no command
		"*1\r\n$-1\r\n",                   // a null as the name
		"*1\r\n$3\r\nabcXY",               // wrong terminator
		"*x\r\n",                          // not a number
		"*1\r\n$99999999999999999999\r\n", // overflow
	} {
		var p commandParser
		if got := p.feed([]byte(in)); !slices.Equal(got, []string{"?"}) {
			t.Errorf("%q: got %q, want [?]", in, got)
		}
		if got := p.feed([]byte(resp("GET", "k"))); !slices.Equal(got, []string{"?"}) {
			t.Errorf("%q then GET: got %q, want [?] (a broken stream stays broken)", in, got)
		}
	}
}

func TestParserBoundsItsBuffer(t *testing.T) {
	var p commandParser
	// A bulk string that claims 1 GiB never completes: the parser stops
	// buffering it once it passes maxPending.
	p.feed([]byte("*1\r\n$1073741824\r\n"))
	chunk := make([]byte, 64<<10)
	var got []string
	for range maxPending/len(chunk) + 2 {
		got = append(got, p.feed(chunk)...)
	}
	if !slices.Contains(got, "?") || len(p.pending) != 0 {
		t.Fatalf("got %q with %d bytes pending, want a give-up", got, len(p.pending))
	}
}

func FuzzParser(f *testing.F) {
	f.Add([]byte(resp("GET", "k")), 3)
	f.Add([]byte("*1\r\n$1\r"), 1)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		var p commandParser
		if cut < 0 || cut > len(b) {
			cut = len(b)
		}
		p.feed(b[:cut]) // must not panic
		p.feed(b[cut:])
	})
}
