package redis

import (
	"context"
	"errors"

	goredis "github.com/redis/go-redis/v9"
)

// reloadOnFailure makes a Cluster client re-read the cluster's slot map
// whenever a command or pipeline fails without an answer from Redis: a
// refused or dropped connection, or a timeout.
//
// go-redis re-reads the map when a node redirects it (MOVED, ASK) and
// otherwise only every ClusterStateReloadInterval, 60 s by default. When a
// master dies, no node ever redirects: the commands for its slots keep
// going to its address, fail, and go there again. Once the Cluster has
// promoted the master's replica, the app would still answer 503 for the
// sessions in those slots (a third of them, with three masters) for up to a
// minute. With the hook, the first failure after the promotion fetches the
// map that names the new master.
//
// A reload is one CLUSTER SLOTS to one node. go-redis runs it in the
// background, one at a time and at most one per 200 ms however many
// commands fail, so a dead node costs a few CLUSTER SLOTS a second, not one
// per request. A shorter ClusterStateReloadInterval would work too, but
// only after up to that interval, and at its cost all the time.
type reloadOnFailure struct {
	reload func()
}

// newReloadOnFailure returns the hook for c.
func newReloadOnFailure(c *goredis.ClusterClient) reloadOnFailure {
	// ReloadState does not use its context: the reload runs on its own.
	return reloadOnFailure{reload: func() { c.ReloadState(context.Background()) }}
}

// DialHook adds nothing: a failed dial fails the command, which ProcessHook
// sees.
func (h reloadOnFailure) DialHook(next goredis.DialHook) goredis.DialHook { return next }

// ProcessHook reloads after a command that got no answer.
func (h reloadOnFailure) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		h.after(err)
		return err
	}
}

// ProcessPipelineHook reloads after a pipeline (or transaction) whose
// first failed command got no answer.
func (h reloadOnFailure) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		err := next(ctx, cmds)
		h.after(err)
		return err
	}
}

func (h reloadOnFailure) after(err error) {
	if noAnswer(err) {
		h.reload()
	}
}

// noAnswer reports whether err means that a node did not answer. A reply
// of Redis (redis.Nil, a script's error, CLUSTERDOWN while the Cluster
// fails a master over) comes from a node that is there, and a cancelled
// context is the caller giving up, not the node: neither is a reason to
// re-read the map. A deadline that passed is: a node that hangs is failed
// over like one that is gone.
func noAnswer(err error) bool {
	var reply goredis.Error
	return err != nil && !errors.As(err, &reply) && !errors.Is(err, context.Canceled)
}
