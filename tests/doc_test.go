// Package tests is hexchi's black-box integration suite: the session module
// and the app against a real Redis (single node and Cluster) started with
// dockertest, under faults and under load, the container image, and the
// pages in a headless Chromium (browser_test.go, which needs a chromium
// binary instead of Redis). Operations (docs/operations.md): three app
// containers behind HAProxy (replicas_test.go; APP_IMAGE and HAPROXY_IMAGE,
// else built with scripts/build-app-image.sh and
// scripts/build-haproxy-image.sh), and a master killed under load behind
// Sentinel and in a Cluster with replicas (failover_test.go).
//
// Redis comes from, in order:
//   - REDIS_ADDR: a running Redis (tests that pause, restart or cluster
//     Redis still need Docker);
//   - Docker: a container of TEST_REDIS_IMAGE (default redis:7-alpine). On a
//     machine with Docker but no registry, build one from Debian's
//     redis-server with scripts/build-redis-image.sh (task redis:image).
//
// Without either, the tests skip with a message that says how to enable
// them, except under CI=true, where they fail: CI must never pass by
// skipping.
package tests
