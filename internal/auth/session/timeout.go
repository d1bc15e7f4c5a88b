package session

import (
	"context"
	"time"
)

// timeoutStore bounds every call to a store with a deadline, so that a
// store that stops answering costs a request at most that long before it
// is answered 503. Without it a client library's retries can stack up:
// go-redis retries a timed-out read, doubling the wait on a paused Redis.
type timeoutStore struct {
	Store
	d time.Duration
}

func (s timeoutStore) Load(ctx context.Context, handle string, touch Touch) (*Record, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.Store.Load(ctx, handle, touch)
}

func (s timeoutStore) Create(ctx context.Context, handle string, rec *Record, opts CreateOptions) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.Store.Create(ctx, handle, rec, opts)
}

func (s timeoutStore) Patch(ctx context.Context, handle string, p *Patch) error {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.Store.Patch(ctx, handle, p)
}

func (s timeoutStore) Delete(ctx context.Context, ref Ref) error {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.Store.Delete(ctx, ref)
}

func (s timeoutStore) ListGroup(ctx context.Context, group string) ([]Member, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.Store.ListGroup(ctx, group)
}

func (s timeoutStore) DeleteGroup(ctx context.Context, group, except string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.Store.DeleteGroup(ctx, group, except)
}
