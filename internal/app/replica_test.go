package app

import (
	"errors"
	"testing"
)

// TestSetReplicaHeader: the header name is canonicalized, the host name is
// read only when the header is on, and a host name that cannot be read
// stops the start with the key in the error.
func TestSetReplicaHeader(t *testing.T) {
	named := func() (string, error) { return "web-7", nil }
	fails := func() (string, error) { return "", errors.New("no host name") }
	tests := []struct {
		name, header         string
		hostname             func() (string, error)
		wantHeader, wantName string
		wantErr              string
	}{
		{name: "off, host name never read", header: "", hostname: fails},
		{name: "on", header: "X-Replica", hostname: named, wantHeader: "X-Replica", wantName: "web-7"},
		{name: "on, name canonicalized", header: "x-served-by", hostname: named, wantHeader: "X-Served-By", wantName: "web-7"},
		{name: "host name unreadable", header: "X-Replica", hostname: fails,
			wantErr: "core.http.replicaHeader: read the host name: no host name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp()
			err := a.setReplicaHeader(tt.header, tt.hostname)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("setReplicaHeader(%q) error %q, want %q", tt.header, got, tt.wantErr)
			}
			if a.replicaHeader != tt.wantHeader || a.replicaName != tt.wantName {
				t.Errorf("setReplicaHeader(%q): header %q = %q, want %q = %q", tt.header, a.replicaHeader, a.replicaName, tt.wantHeader, tt.wantName)
			}
		})
	}
}

// errString is err's message, "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
