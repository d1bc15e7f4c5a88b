// Package rtproxy is a TCP proxy in front of Redis that counts round trips
// and names the commands in each.
//
// A round trip is a client's turn to speak followed by the server's answer:
// it starts when the client sends bytes after the server last sent some (or
// first, on a new connection). A pipeline of commands is written in one
// turn and answered in one turn, so it counts once; a Lua script is one
// command, EVAL or EVALSHA, so it counts once too, whatever it runs inside
// Redis. A client never speaks twice in a row without waiting except inside
// a pipeline, which is exactly what makes that one round trip.
//
// The count is of turns per connection, and every request the benchmark
// measures runs alone, so the turns of one request are its round trips.
// Commands are named by parsing the client's stream as RESP, which also
// shows what each round trip carried ("[EVAL EVAL DEL]" for a pipeline).
//
// A connection that subscribes (SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE) is a
// subscriber, not a request's: a near cache's invalidation listener, which
// Redis pushes messages to and which pings on a timer of its own. Its
// turns, including those it took before it subscribed (CLIENT ID, CLIENT
// TRACKING), are left out of Take and counted apart (SubscriberTrips),
// so that they never land in the count of whatever request runs meanwhile.
package rtproxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
)

// Trip is one round trip: the commands the client sent in one turn.
type Trip struct {
	Commands []string
}

// String shows a trip as its command, or a pipeline as [CMD CMD ...].
func (t Trip) String() string {
	if len(t.Commands) == 1 {
		return t.Commands[0]
	}
	return "[" + strings.Join(t.Commands, " ") + "]"
}

// Proxy forwards connections to a Redis server and records their round
// trips. It is safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	// ctx ends when the proxy closes; it bounds the dials to the target.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	trips  []*trip
	conns  map[net.Conn]struct{}
	closed bool
	// subTrips counts the turns of subscriber connections.
	subTrips int
}

// trip is a Trip and the connection it was taken on.
type trip struct {
	Trip
	link *link
}

// Start listens on a free loopback port and forwards every connection to
// target (host:port). ctx bounds the start only; the proxy runs until
// Close.
func Start(ctx context.Context, target string) (*Proxy, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("rtproxy listen: %w", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is the address clients connect to instead of the target's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Take returns the round trips recorded since the last Take on connections
// that are not subscribers, and forgets them.
func (p *Proxy) Take() []Trip {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Trip, len(p.trips))
	for i, t := range p.trips {
		out[i] = Trip{Commands: append([]string(nil), t.Commands...)}
	}
	p.trips = nil
	return out
}

// SubscriberTrips returns how many turns subscriber connections have
// taken since the proxy started.
func (p *Proxy) SubscriberTrips() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.subTrips
}

// Close stops accepting, closes every connection and waits for the
// goroutines that served them.
func (p *Proxy) Close() error {
	p.cancel()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Go(func() { p.serve(client) })
	}
}

// track registers c so that Close can close it; false if the proxy is
// already closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// serve forwards one connection both ways until either side closes.
func (p *Proxy) serve(client net.Conn) {
	defer client.Close()
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	var d net.Dialer
	server, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		return // the client sees its connection closed, as if Redis were down
	}
	defer server.Close()
	if !p.track(server) {
		return
	}
	defer p.untrack(server)

	l := &link{p: p}
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyChunks(client, server, l.fromServer)
		_ = client.Close() // the server went away: so does the client
	}()
	copyChunks(server, client, l.fromClient)
	_ = server.Close() // the client went away: stop the other direction
	<-done
}

// link is the round-trip state of one proxied connection.
type link struct {
	p          *Proxy
	parser     commandParser // only the client direction touches it
	clientTurn bool          // guarded by p.mu
	cur        *trip         // guarded by p.mu
	subscriber bool          // guarded by p.mu: it has subscribed
}

// fromClient records a chunk the client sent, before it is forwarded: the
// server cannot answer bytes it has not received, so the record always
// comes first.
func (l *link) fromClient(chunk []byte) {
	names := l.parser.feed(chunk)
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	if !l.clientTurn {
		l.clientTurn = true
		l.cur = &trip{link: l}
		if l.subscriber {
			l.p.subTrips++
		} else {
			l.p.trips = append(l.p.trips, l.cur)
		}
	}
	l.cur.Commands = append(l.cur.Commands, names...)
	if !l.subscriber && slices.ContainsFunc(names, isSubscribe) {
		l.becomeSubscriber()
	}
}

// isSubscribe reports whether a command puts a connection in pub/sub mode.
func isSubscribe(name string) bool {
	return name == "SUBSCRIBE" || name == "PSUBSCRIBE" || name == "SSUBSCRIBE"
}

// becomeSubscriber moves the link's recorded trips out of the count. p.mu
// is held.
func (l *link) becomeSubscriber() {
	l.subscriber = true
	kept := l.p.trips[:0]
	for _, t := range l.p.trips {
		if t.link == l {
			l.p.subTrips++
		} else {
			kept = append(kept, t)
		}
	}
	clear(l.p.trips[len(kept):])
	l.p.trips = kept
}

// fromServer records that the server answered: the client's next bytes
// start a new round trip.
func (l *link) fromServer([]byte) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	l.clientTurn = false
}

// copyChunks copies src to dst, calling seen with each chunk before it is
// written, until either side fails.
func copyChunks(dst io.Writer, src io.Reader, seen func([]byte)) {
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			seen(buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF, closed or reset: the copy ends either way
		}
	}
}
