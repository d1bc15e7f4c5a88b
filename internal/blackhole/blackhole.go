// Package blackhole provides, for tests, a TCP server that accepts
// connections and never answers: the failure mode only timeouts catch (a
// hung Redis, a peer behind a firewall that drops packets after the
// handshake). A closed port, by contrast, fails fast and tests nothing.
package blackhole

import (
	"net"
	"sync"
	"testing"
)

// Listen starts a black hole on a free loopback port and returns its
// address. The black hole, with every connection it accepted, is closed
// when the test ends.
func Listen(t testing.TB) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("blackhole: %v", err)
	}

	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	// The accept loop holds each connection open without reading or
	// writing. It ends when Cleanup closes the listener.
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}
