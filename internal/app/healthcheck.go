package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheckTimeout bounds the whole check: a container runtime kills a
// health check that outlives its own timeout anyway.
const healthcheckTimeout = 3 * time.Second

// checkHealth asks the server listening on addr (core.http.addr) whether it
// is ready, as a container health check does, and returns nil if /readyz
// answers 200. It is `app -healthcheck`: the image is FROM scratch, with no
// shell or curl to do it. A wildcard host (":8080", "0.0.0.0:8080") is
// asked on loopback.
func checkHealth(ctx context.Context, addr string, stdout io.Writer) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: core.http.addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, res.Status)
	}
	_, err = fmt.Fprintln(stdout, "ready")
	return err
}
