package measure

import (
	"context"
	"fmt"
	"net/http"
)

// gate holds a request in flight, between its session load and its use of
// the session, while the check runs other requests. It replaces sleeps: the
// order of events is forced, not hoped for.
type gate struct {
	arrived chan struct{}
	release chan struct{}
}

func newGate() *gate {
	return &gate{arrived: make(chan struct{}), release: make(chan struct{})}
}

// hold is the apps.Config.Hold of the apps under check: it reports the
// request's arrival and waits to be released, or for the request's end.
func (g *gate) hold(r *http.Request) {
	select {
	case g.arrived <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	select {
	case <-g.release:
	case <-r.Context().Done():
	}
}

// inFlight starts b's request to a /hold/ route and returns once it waits
// in the gate. The caller must call finish, which releases the request and
// returns its response; if ctx ends first, the request ends with it.
func (g *gate) inFlight(ctx context.Context, b *browser, method, target string) (finish func() (response, error), err error) {
	type result struct {
		res response
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := b.do(ctx, method, target)
		done <- result{res, err}
	}()
	select {
	case <-g.arrived:
	case r := <-done:
		if r.err == nil {
			return nil, fmt.Errorf("%s %s ended before it reached the gate", method, target)
		}
		return nil, fmt.Errorf("%s %s ended before it reached the gate: %w", method, target, r.err)
	case <-ctx.Done():
		<-done // the request sees ctx end too
		return nil, ctx.Err()
	}
	return func() (response, error) {
		select {
		case g.release <- struct{}{}:
		case <-ctx.Done():
		}
		r := <-done
		return r.res, r.err
	}, nil
}
