package app

import (
	"fmt"
	"net/http"
)

// setReplicaHeader turns on the replica header (core.http.replicaHeader)
// when header is not "": every response then names the replica that
// served it, by the host name, which under Docker or Kubernetes is the
// container's or the pod's. Behind a load balancer that is how an
// operator, or tests/replicas_test.go, tells identical processes apart
// without reading each one's log.
//
// The name is read once, at start, with hostname (os.Hostname; a test's
// own to make it fail): a host name does not change under a running
// process, and a response should not pay a system call for it.
func (a *app) setReplicaHeader(header string, hostname func() (string, error)) error {
	if header == "" {
		return nil
	}
	name, err := hostname()
	if err != nil {
		return fmt.Errorf("core.http.replicaHeader: read the host name: %w", err)
	}
	a.replicaHeader, a.replicaName = http.CanonicalHeaderKey(header), name
	return nil
}

// nameReplica is the middleware that sets the replica header. Off, it is
// next itself: a header nobody asked for costs nothing per request.
func (a *app) nameReplica(next http.Handler) http.Handler {
	if a.replicaHeader == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(a.replicaHeader, a.replicaName)
		next.ServeHTTP(w, r)
	})
}
