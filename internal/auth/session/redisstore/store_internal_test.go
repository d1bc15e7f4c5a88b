package redisstore

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestNewSeesACluster: the store orders its writes differently on Cluster,
// so it must know one when it gets one.
func TestNewSeesACluster(t *testing.T) {
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	single := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = cluster.Close(); _ = single.Close() })
	if !New(cluster).cluster || New(single).cluster {
		t.Error("New misjudged the client's topology")
	}
}
