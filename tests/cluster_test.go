package tests

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
	"github.com/redis/go-redis/v9"
)

// startCluster runs a three-master Redis Cluster and returns its addresses.
//
// The nodes use the host's network namespace and listen on loopback only:
// cluster nodes announce their own address to clients, and on a bridge
// network that would be a container address the test (and a developer's
// laptop) cannot always reach. Each node's cluster bus is its port+10000.
func startCluster(t *testing.T) []string {
	t.Helper()
	pool := dockerPool(t)
	repo, tag := redisImage()
	ports := freePortPairs(t, 3)
	addrs := make([]string, len(ports))
	for i, port := range ports {
		p := strconv.Itoa(port)
		res, err := pool.RunWithOptions(&dockertest.RunOptions{
			Repository: repo, Tag: tag,
			Cmd: []string{"--port", p, "--bind", "127.0.0.1", "--cluster-enabled", "yes",
				"--cluster-config-file", "/tmp/nodes-" + p + ".conf", "--cluster-node-timeout", "2000",
				"--save", "", "--appendonly", "no"},
		}, func(hc *dc.HostConfig) {
			hc.NetworkMode = "host"
			hc.PublishAllPorts = false
			hc.AutoRemove = true
		})
		if err != nil {
			unavailable(t, "cannot run %s:%s in host network mode (%v)", repo, tag, err)
		}
		_ = res.Expire(600)
		t.Cleanup(func() { _ = pool.Purge(res) })
		addrs[i] = net.JoinHostPort("127.0.0.1", p)
		waitForRedis(t, pool, addrs[i])
	}
	bootstrapCluster(t, pool, addrs, ports)
	return addrs
}

// bootstrapCluster splits the 16384 slots evenly, introduces the nodes to
// each other, and waits until every node reports cluster_state:ok: what
// `redis-cli --cluster create` does, without needing redis-cli.
func bootstrapCluster(t *testing.T, pool *dockertest.Pool, addrs []string, ports []int) {
	t.Helper()
	ctx := t.Context()
	const slots = 16384
	for i, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		first, last := i*slots/len(addrs), (i+1)*slots/len(addrs)-1
		if err := c.ClusterAddSlotsRange(ctx, first, last).Err(); err != nil {
			t.Fatalf("CLUSTER ADDSLOTSRANGE %d %d on %s: %v", first, last, addr, err)
		}
		if i > 0 {
			if err := c.ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(ports[0])).Err(); err != nil {
				t.Fatalf("CLUSTER MEET from %s: %v", addr, err)
			}
		}
		_ = c.Close()
	}
	err := pool.Retry(func() error {
		for _, addr := range addrs {
			c := redis.NewClient(&redis.Options{Addr: addr})
			info, err := c.ClusterInfo(ctx).Result()
			_ = c.Close()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", len(addrs))) {
				return fmt.Errorf("%s not ready yet", addr)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("cluster never reached cluster_state:ok: %v", err)
	}
}

// freePortPairs returns n loopback ports p whose cluster bus port p+10000 is
// free too. A port could be taken between this check and Redis binding it;
// in a test that is a retry, not a bug.
func freePortPairs(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for port := 20000; port < 30000 && len(ports) < n; port += 7 {
		if free(port) && free(port+10000) {
			ports = append(ports, port)
		}
	}
	if len(ports) < n {
		t.Fatal("no free loopback port pairs for a Redis Cluster")
	}
	return ports
}

func free(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// TestConformanceRedisCluster runs the store conformance suite against a
// three-master Redis Cluster: every script and pipeline of the store must
// work when the keys of one operation live on different nodes.
func TestConformanceRedisCluster(t *testing.T) {
	addrs := startCluster(t)
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true,
		ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	if err := client.ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() }); err != nil {
		t.Fatalf("ping masters: %v", err)
	}
	runConformance(t, client)
}
