package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
)

// TestNoAnswer: only a missing answer (a dropped or refused connection, a
// deadline) makes the Cluster client re-read the slot map; a reply of
// Redis, or a caller that gave up, does not.
func TestNoAnswer(t *testing.T) {
	m := miniredis.RunT(t)
	reply := newClient(t, testConfig(m.Addr())).Do(t.Context(), "NO-SUCH-COMMAND").Err()
	if reply == nil {
		t.Fatal("an unknown command succeeded")
	}
	tests := map[string]struct {
		err  error
		want bool
	}{
		"success":                       {nil, false},
		"a reply: redis.Nil":            {goredis.Nil, false},
		"a reply: an error of Redis":    {reply, false},
		"a wrapped reply":               {fmt.Errorf("load: %w", reply), false},
		"the caller gave up":            {context.Canceled, false},
		"a wrapped cancellation":        {fmt.Errorf("load: %w", context.Canceled), false},
		"a dropped connection":          {io.EOF, true},
		"a refused dial":                {&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		"a deadline: a node that hangs": {context.DeadlineExceeded, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := noAnswer(tc.err); got != tc.want {
				t.Errorf("noAnswer(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestReloadOnFailureHooks: the hook passes every result on unchanged, and
// asks for a reload after each command or pipeline that got no answer.
func TestReloadOnFailureHooks(t *testing.T) {
	tests := map[string]struct {
		err     error
		reloads int // after one command and one pipeline
	}{
		"no answer": {io.EOF, 2},
		"a reply":   {goredis.Nil, 0},
		"success":   {nil, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			reloads := 0
			h := reloadOnFailure{reload: func() { reloads++ }}
			process := h.ProcessHook(func(context.Context, goredis.Cmder) error { return tc.err })
			if err := process(t.Context(), nil); !errors.Is(err, tc.err) {
				t.Errorf("ProcessHook returned %v, want the command's %v", err, tc.err)
			}
			pipeline := h.ProcessPipelineHook(func(context.Context, []goredis.Cmder) error { return tc.err })
			if err := pipeline(t.Context(), nil); !errors.Is(err, tc.err) {
				t.Errorf("ProcessPipelineHook returned %v, want the pipeline's %v", err, tc.err)
			}
			if reloads != tc.reloads {
				t.Errorf("%d reloads, want %d", reloads, tc.reloads)
			}
		})
	}
}

// TestClusterFollowsAMasterThatMoved: two miniredis, each of which says it
// holds every slot, stand for a master and the replica that takes its
// place. When the master the client uses goes away, no node redirects the
// client: New's client must find the other by itself, as it must find a
// promoted replica after a failover (tests/failover_test.go does that on a
// real Cluster). A bare go-redis Cluster client keeps failing until its
// reload interval (60 s) has passed: the day that subtest fails, go-redis
// reloads by itself and the hook can go.
func TestClusterFollowsAMasterThatMoved(t *testing.T) {
	t.Run("New's client", func(t *testing.T) {
		nodes := []*miniredis.Miniredis{miniredis.RunT(t), miniredis.RunT(t)}
		c := newClient(t, testConfig(nodes[0].Addr(), nodes[1].Addr()))
		if err := killMasterOf(t, c.UniversalClient.(*goredis.ClusterClient), nodes); err != nil {
			t.Errorf("SET after the master went: %v, want the client on the other node", err)
		}
	})
	t.Run("a bare go-redis client", func(t *testing.T) {
		nodes := []*miniredis.Miniredis{miniredis.RunT(t), miniredis.RunT(t)}
		c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{nodes[0].Addr(), nodes[1].Addr()}})
		t.Cleanup(func() { _ = c.Close() })
		if err := killMasterOf(t, c, nodes); err == nil {
			t.Error("SET after the master went succeeded: go-redis found the other node without the hook")
		}
	})
}

// killMasterOf writes a key through c, closes the node that took it, and
// then writes it again until that works or two seconds have passed. It
// returns the last write's error.
func killMasterOf(t *testing.T, c *goredis.ClusterClient, nodes []*miniredis.Miniredis) error {
	t.Helper()
	if err := c.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET before: %v", err)
	}
	master, err := c.MasterForKey(t.Context(), "k")
	if err != nil {
		t.Fatalf("master for k: %v", err)
	}
	for _, n := range nodes {
		if n.Addr() == master.Options().Addr {
			n.Close()
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err = c.Set(ctx, "k", "v", 0).Err()
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
