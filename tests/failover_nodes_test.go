package tests

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
	"github.com/redis/go-redis/v9"
)

// The Redis deployments of failover_test.go: a Sentinel group and a Cluster
// with replicas, each node a container on the host's network.

// redisNode is a redis-server, or a Sentinel, in a container of this test
// on the host's network, listening on loopback only. Sentinel and Cluster
// tell clients the addresses their nodes announce, and on a bridge network
// those would be container addresses that the test process (where the app
// runs) cannot always reach.
type redisNode struct {
	name string // for the test's log: "master", "sentinel 1"
	addr string // 127.0.0.1:port
	rdb  *redis.Client
	pool *dockertest.Pool
	res  *dockertest.Resource
}

// startNode runs a container of the Redis image with opts (Cmd, and
// Entrypoint and Mounts when needed) and waits until it answers PING. When
// the test ends it is purged; if the test failed, its last log lines are
// logged first.
func startNode(t *testing.T, pool *dockertest.Pool, name string, port int, opts dockertest.RunOptions) *redisNode {
	t.Helper()
	opts.Repository, opts.Tag = redisImage()
	res, err := pool.RunWithOptions(&opts, func(hc *dc.HostConfig) {
		hc.NetworkMode = "host"
		hc.PublishAllPorts = false
		// Not AutoRemove: a killed node's log must outlive it.
	})
	if err != nil {
		unavailable(t, "cannot run %s:%s in host network mode (%v)", opts.Repository, opts.Tag, err)
	}
	// A backstop for a test binary that dies before its cleanup runs.
	_ = res.Expire(600)
	n := &redisNode{name: name, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), pool: pool, res: res}
	n.rdb = redis.NewClient(&redis.Options{Addr: n.addr, DialTimeout: time.Second, ReadTimeout: time.Second,
		WriteTimeout: time.Second, ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s (%s), last %d lines of its log:\n%s", n.name, n.addr, logTailLines, logTail(pool, res.Container.ID, logTailLines))
		}
		_ = n.rdb.Close()
		if err := pool.Purge(res); err != nil {
			t.Errorf("purge %s container: %v", n.name, err)
		}
	})
	waitForRedis(t, pool, n.addr)
	return n
}

// kill ends the node with SIGKILL, as a crash or a lost machine would: no
// shutdown, no last write to its replica. The container stays, for its log.
func (n *redisNode) kill(t *testing.T) {
	t.Helper()
	if err := n.pool.Client.KillContainer(dc.KillContainerOptions{ID: n.res.Container.ID, Signal: dc.SIGKILL}); err != nil {
		t.Fatalf("kill %s: %v", n.name, err)
	}
}

// info returns one section of INFO as its fields.
func (n *redisNode) info(ctx context.Context, section string) (map[string]string, error) {
	text, err := n.rdb.Info(ctx, section).Result()
	if err != nil {
		return nil, fmt.Errorf("INFO %s on %s: %w", section, n.name, err)
	}
	fields := map[string]string{}
	for line := range strings.Lines(text) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	return fields, nil
}

// linkUp reports whether the replica n is attached to its master and in
// sync with it.
func (n *redisNode) linkUp(ctx context.Context) error {
	repl, err := n.info(ctx, "replication")
	if err != nil {
		return err
	}
	if repl["role"] != "slave" || repl["master_link_status"] != "up" || repl["master_sync_in_progress"] != "0" {
		return fmt.Errorf("%s: role %s, link %s, sync in progress %s", n.name,
			repl["role"], repl["master_link_status"], repl["master_sync_in_progress"])
	}
	return nil
}

// baseArgs are the arguments of every data node: loopback only, and no
// persistence (a killed node is not restarted). A master sends its first
// full copy to a replica at once, not after the 5 s by default it waits
// for more replicas to share one transfer: 5 s of every test's setup.
func baseArgs(port int) []string {
	return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--repl-diskless-sync-delay", "0"}
}

// sentinelGroup is a master, its replica and three Sentinels watching them.
type sentinelGroup struct {
	master, replica *redisNode
	sentinels       []*redisNode
}

// startSentinelGroup starts the group and waits until every Sentinel knows
// the master, its replica and the two other Sentinels: only then can a
// quorum of them agree that the master is down and elect one to fail it
// over.
func startSentinelGroup(ctx context.Context, t *testing.T, pool *dockertest.Pool) *sentinelGroup {
	t.Helper()
	g := &sentinelGroup{}
	port := freePort(t)
	g.master = startNode(t, pool, "master", port, dockertest.RunOptions{Cmd: baseArgs(port)})
	port = freePort(t)
	g.replica = startNode(t, pool, "replica", port, dockertest.RunOptions{
		Cmd: append(baseArgs(port), "--replicaof", "127.0.0.1", strings.TrimPrefix(g.master.addr, "127.0.0.1:")),
	})
	// Before the Sentinels start: a Sentinel learns the replicas from the
	// master's INFO, which it asks at once and then every 10 s.
	retryFor(ctx, t, 20*time.Second, "the replica in sync", func() error { return g.replica.linkUp(ctx) })

	for i := range 3 {
		port := freePort(t)
		dir := sentinelConfig(t, port, g.master.addr)
		g.sentinels = append(g.sentinels, startNode(t, pool, "sentinel "+strconv.Itoa(i+1), port, dockertest.RunOptions{
			// The image's entrypoint is redis-server, or (redis:7-alpine)
			// a script that passes only arguments starting with - to it.
			Entrypoint: []string{"redis-server"},
			Cmd:        []string{"/sentinel/sentinel.conf", "--sentinel"},
			Mounts:     []string{dir + ":/sentinel"},
		}))
	}
	retryFor(ctx, t, 30*time.Second, "the Sentinels see the master, the replica and each other", func() error {
		for _, s := range g.sentinels {
			if err := g.sees(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	return g
}

// sentinelConfig writes the config file of the Sentinel at port into a
// directory of its own, which it returns. Sentinel needs a config file it
// can write: it records there what it learns (its own id, the replicas and
// Sentinels it found, the current master). It rewrites the file by renaming
// a new one over it, so the directory is mounted rather than the file, and
// it is writable by anyone, whatever user the container runs as.
func sentinelConfig(t *testing.T, port int, masterAddr string) string {
	t.Helper()
	host, masterPort, _ := net.SplitHostPort(masterAddr)
	conf := fmt.Sprintf(`port %d
bind 127.0.0.1
sentinel monitor %[2]s %[3]s %[4]s 2
sentinel down-after-milliseconds %[2]s %[5]d
sentinel failover-timeout %[2]s 5000
sentinel parallel-syncs %[2]s 1
`, port, sentinelMaster, host, masterPort, downAfterMS)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sentinel.conf"), []byte(conf), 0o666); err != nil {
		t.Fatalf("write the sentinel config: %v", err)
	}
	// After WriteFile, which the umask applies to; Chmod is not masked.
	for path, mode := range map[string]os.FileMode{dir: 0o777, filepath.Join(dir, "sentinel.conf"): 0o666} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatalf("make the sentinel config writable: %v", err)
		}
	}
	return dir
}

func (g *sentinelGroup) sentinelAddrs() []string {
	addrs := make([]string, len(g.sentinels))
	for i, s := range g.sentinels {
		addrs[i] = s.addr
	}
	return addrs
}

// sees reports whether Sentinel s sees the master up, its replica up and
// in sync, and the two other Sentinels.
func (g *sentinelGroup) sees(ctx context.Context, s *redisNode) error {
	sc := newSentinelClient(s)
	defer sc.Close()
	m, err := sc.Master(ctx, sentinelMaster).Result()
	if err != nil {
		return fmt.Errorf("SENTINEL MASTER on %s: %w", s.name, err)
	}
	if m["flags"] != "master" || m["num-slaves"] != "1" || m["num-other-sentinels"] != "2" {
		return fmt.Errorf("%s: master flags %q, %s replicas, %s other sentinels", s.name,
			m["flags"], m["num-slaves"], m["num-other-sentinels"])
	}
	replicas, err := sc.Replicas(ctx, sentinelMaster).Result()
	if err != nil {
		return fmt.Errorf("SENTINEL REPLICAS on %s: %w", s.name, err)
	}
	if len(replicas) != 1 || replicas[0]["flags"] != "slave" || replicas[0]["master-link-status"] != "ok" {
		return fmt.Errorf("%s: replicas %v", s.name, replicas)
	}
	return nil
}

// newSentinelClient returns a client of Sentinel s's own commands.
func newSentinelClient(s *redisNode) *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: s.addr, DialTimeout: time.Second, ReadTimeout: time.Second,
		WriteTimeout: time.Second, ContextTimeoutEnabled: true})
}

// masterAddr asks Sentinel s for the master's address.
func (g *sentinelGroup) masterAddr(ctx context.Context, s *redisNode) (string, error) {
	sc := newSentinelClient(s)
	defer sc.Close()
	hostPort, err := sc.GetMasterAddrByName(ctx, sentinelMaster).Result()
	if err != nil {
		return "", fmt.Errorf("SENTINEL GET-MASTER-ADDR-BY-NAME on %s: %w", s.name, err)
	}
	return net.JoinHostPort(hostPort[0], hostPort[1]), nil
}

// replicatedCluster is a Redis Cluster of three masters, each with one
// replica: replicas[i] replicates masters[i].
type replicatedCluster struct {
	masters, replicas []*redisNode
	client            *redis.ClusterClient // the test's own
}

// startReplicatedCluster starts six nodes, each with its cluster bus at
// port+10000, and bootstraps them into a cluster: what `redis-cli
// --cluster create --cluster-replicas 1` does, without needing redis-cli.
// It returns once every node reports cluster_state:ok, knows the six nodes
// in their roles, and every replica is in sync: only then would the
// masters vote for a replica to take its master's place.
func startReplicatedCluster(ctx context.Context, t *testing.T, pool *dockertest.Pool) *replicatedCluster {
	t.Helper()
	ports := freePortPairs(t, 6)
	c := &replicatedCluster{}
	for i, port := range ports {
		p := strconv.Itoa(port)
		role, list := "master", &c.masters
		if i >= 3 {
			role, list = "replica", &c.replicas
		}
		*list = append(*list, startNode(t, pool, fmt.Sprintf("%s %d", role, i%3+1), port, dockertest.RunOptions{
			Cmd: append(baseArgs(port), "--cluster-enabled", "yes", "--cluster-config-file", "/tmp/nodes-"+p+".conf",
				"--cluster-node-timeout", strconv.Itoa(downAfterMS)),
		}))
	}
	all := append(slices.Clone(c.masters), c.replicas...)

	const slots = 16384
	for i, m := range c.masters {
		first, last := i*slots/len(c.masters), (i+1)*slots/len(c.masters)-1
		if err := m.rdb.ClusterAddSlotsRange(ctx, first, last).Err(); err != nil {
			t.Fatalf("CLUSTER ADDSLOTSRANGE %d %d on %s: %v", first, last, m.name, err)
		}
	}
	for _, n := range all[1:] {
		if err := n.rdb.ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(ports[0])).Err(); err != nil {
			t.Fatalf("CLUSTER MEET from %s: %v", n.name, err)
		}
	}
	// A replica can follow only a master it knows.
	retryFor(ctx, t, 30*time.Second, "every node knows the six", func() error {
		for _, n := range all {
			info, err := n.rdb.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_known_nodes:6") {
				return fmt.Errorf("%s does not know the six nodes yet", n.name)
			}
		}
		return nil
	})
	for i, r := range c.replicas {
		id, err := c.masters[i].rdb.ClusterMyID(ctx).Result()
		if err != nil {
			t.Fatalf("CLUSTER MYID on %s: %v", c.masters[i].name, err)
		}
		if err := r.rdb.ClusterReplicate(ctx, id).Err(); err != nil {
			t.Fatalf("CLUSTER REPLICATE on %s: %v", r.name, err)
		}
	}
	retryFor(ctx, t, 30*time.Second, "the cluster ok, in its roles, replicas in sync", func() error {
		for _, n := range all {
			if err := c.clusterOK(ctx, n, 3); err != nil {
				return err
			}
		}
		for _, r := range c.replicas {
			if err := r.linkUp(ctx); err != nil {
				return err
			}
		}
		return nil
	})

	c.client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.masterAddrs(), ContextTimeoutEnabled: true,
		ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { _ = c.client.Close() })
	return c
}

func (c *replicatedCluster) masterAddrs() []string {
	addrs := make([]string, len(c.masters))
	for i, m := range c.masters {
		addrs[i] = m.addr
	}
	return addrs
}

// clusterOK reports whether node n says cluster_state:ok and sees three
// masters and replicas replicas that are not failing.
func (c *replicatedCluster) clusterOK(ctx context.Context, n *redisNode, replicas int) error {
	info, err := n.rdb.ClusterInfo(ctx).Result()
	if err != nil {
		return fmt.Errorf("CLUSTER INFO on %s: %w", n.name, err)
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return fmt.Errorf("%s: cluster state not ok", n.name)
	}
	nodes, err := n.rdb.ClusterNodes(ctx).Result()
	if err != nil {
		return fmt.Errorf("CLUSTER NODES on %s: %w", n.name, err)
	}
	masters, slaves := 0, 0
	for line := range strings.Lines(nodes) {
		fields := strings.Fields(line)
		if len(fields) < 3 {
			continue
		}
		flags := strings.Split(fields[2], ",")
		switch {
		case slices.Contains(flags, "fail"), slices.Contains(flags, "fail?"), slices.Contains(flags, "handshake"):
			// A killed master stays listed, failed: not counted.
		case slices.Contains(flags, "master"):
			masters++
		case slices.Contains(flags, "slave"):
			slaves++
		}
	}
	if masters != 3 || slaves != replicas {
		return fmt.Errorf("%s sees %d masters and %d replicas, want 3 and %d", n.name, masters, slaves, replicas)
	}
	return nil
}

// isMaster reports whether node n says it is a master.
func (c *replicatedCluster) isMaster(ctx context.Context, n *redisNode) bool {
	repl, err := n.info(ctx, "replication")
	return err == nil && repl["role"] == "master"
}

// owner returns the index of the master that holds key's slot.
func (c *replicatedCluster) owner(ctx context.Context, t *testing.T, key string) int {
	t.Helper()
	m, err := c.client.MasterForKey(ctx, key)
	if err != nil {
		t.Fatalf("master for %s: %v", key, err)
	}
	i := slices.IndexFunc(c.masters, func(n *redisNode) bool { return n.addr == m.Options().Addr })
	if i < 0 {
		t.Fatalf("key %s lives on %s, not a master of the test", key, m.Options().Addr)
	}
	return i
}
