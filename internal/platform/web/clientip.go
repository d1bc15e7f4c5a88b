package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIPKey is the context key of the client's address.
var clientIPKey = &struct{ name string }{"client ip"}

// ClientIP returns the client address that the ClientIPs middleware found,
// or "" outside it.
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey).(string)
	return ip
}

// ClientIPs finds the address of the client and puts it in the request
// context, for rate limits and logs.
//
// The address is the peer's, unless the peer is one of the trusted proxies:
// then it is the rightmost X-Forwarded-For entry that is not a trusted proxy
// itself. Entries further left were written by whoever sent the request and
// prove nothing. (chi's RealIP believes any header, so anyone can pick the
// address a rate limit counts.)
func ClientIPs(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := clientIP(r, trusted)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey, ip)))
		})
	}
}

func clientIP(r *http.Request, trusted []netip.Prefix) string {
	peer, err := addrOf(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a garbled entry: trust nothing left of it
		}
		hop = hop.Unmap()
		if !isTrusted(hop, trusted) {
			return hop.String()
		}
	}
	return peer.String()
}

func addrOf(hostport string) (netip.Addr, error) {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
