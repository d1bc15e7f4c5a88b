package apptest

import (
	"net"
	"net/http"
	"testing"
)

func TestStart(t *testing.T) {
	srv := Start(t, nil)

	host, port, err := net.SplitHostPort(srv.Addr)
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr = %q, want 127.0.0.1 with the port the kernel picked", srv.Addr)
	}
	if res := Get(t, srv.URL+"/livez", nil); res.Status != http.StatusOK || string(res.Body) != "ok\n" {
		t.Errorf("GET /livez = %d %q, want 200 ok", res.Status, res.Body)
	}
}
