package rtproxy

import (
	"bufio"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeRedis answers "+OK\r\n" to every command it parses, so that the
// proxy can be tested without a Redis server.
func fakeRedis(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				var p commandParser
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					for range p.feed(buf[:n]) {
						if _, err := io.WriteString(c, "+OK\r\n"); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String()
}

func TestProxyCountsTurns(t *testing.T) {
	p, err := Start(t.Context(), fakeRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	// send writes the commands in one write, as a client does for a
	// pipeline, and waits for every reply.
	send := func(cmds ...string) {
		t.Helper()
		if _, err := io.WriteString(c, strings.Join(cmds, "")); err != nil {
			t.Fatal(err)
		}
		for range cmds {
			if line, err := r.ReadString('\n'); err != nil || line != "+OK\r\n" {
				t.Fatalf("reply %q, %v", line, err)
			}
		}
	}
	send(resp("HGETALL", "k"))
	send(resp("EVAL", "script", "1", "k"), resp("EVAL", "s2", "1", "g"), resp("DEL", "old"))
	send(resp("EVALSHA", "abc", "1", "k"))

	got := p.Take()
	want := []string{"HGETALL", "[EVAL EVAL DEL]", "EVALSHA"}
	var names []string
	for _, trip := range got {
		names = append(names, trip.String())
	}
	if !slices.Equal(names, want) {
		t.Fatalf("trips %q, want %q", names, want)
	}
	if again := p.Take(); len(again) != 0 {
		t.Fatalf("Take did not reset: %v", again)
	}
}

func TestProxyCloseEndsConnections(t *testing.T) {
	p, err := Start(t.Context(), fakeRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, resp("PING")); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil { // returns only once every goroutine has
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("client connection still open after Close")
	}
}

// A near cache's invalidation listener subscribes, and pings on a timer of
// its own: none of its turns may count as a request's, or a read served
// from the cache (0 round trips) would count the listener's PING.
func TestProxyLeavesSubscribersOut(t *testing.T) {
	p, err := Start(t.Context(), fakeRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	send := func(c net.Conn, r *bufio.Reader, cmd string) {
		t.Helper()
		if _, err := io.WriteString(c, cmd); err != nil {
			t.Fatal(err)
		}
		if line, err := r.ReadString('\n'); err != nil || line != "+OK\r\n" {
			t.Fatalf("reply %q, %v", line, err)
		}
	}
	app, appR := dial()
	sub, subR := dial()
	send(app, appR, resp("HGETALL", "k"))
	// The listener's set-up before it subscribes is its own too.
	send(sub, subR, resp("CLIENT", "ID"))
	send(sub, subR, resp("CLIENT", "TRACKING", "ON", "BCAST"))
	send(sub, subR, resp("SUBSCRIBE", "__redis__:invalidate"))
	send(app, appR, resp("EVALSHA", "abc", "1", "k"))
	send(sub, subR, resp("PING"))

	var names []string
	for _, trip := range p.Take() {
		names = append(names, trip.String())
	}
	if want := []string{"HGETALL", "EVALSHA"}; !slices.Equal(names, want) {
		t.Fatalf("trips %q, want %q", names, want)
	}
	if n := p.SubscriberTrips(); n != 4 {
		t.Errorf("%d subscriber trips, want 4", n)
	}
	// A request served from memory: only the listener speaks.
	send(sub, subR, resp("PING"))
	if trips := p.Take(); len(trips) != 0 {
		t.Errorf("the listener's PING counted: %v", trips)
	}
}
