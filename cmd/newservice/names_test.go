package main

import (
	"strings"
	"testing"
)

func TestServiceName(t *testing.T) {
	good := map[string]string{
		"example.com/yourservice":        "yourservice",
		"example.com/team/billing-api":   "billing-api",
		"github.com/Acme/orders":         "orders",
		"example.com/yourservice/v2":     "yourservice",
		"example.com/yourservice/v10":    "yourservice",
		"yourservice":                    "yourservice",
		"git.example.org/a_b/svc2":       "svc2",
		"github.com/hexchi/starterkit":   "starterkit",
		"github.com/someone/hexchi":      "hexchi",
		"example.com/x.y~z/yourservice":  "yourservice",
		"example.com/yourservice/api/v3": "api",
	}
	for path, want := range good {
		got, err := serviceName(path)
		if err != nil || got != want {
			t.Errorf("serviceName(%q) = %q, %v; want %q", path, got, err, want)
		}
	}

	bad := map[string]string{ // path: what the error must say
		"":                            "empty",
		"/example.com/x":              "leading or trailing slash",
		"example.com/x/":              "leading or trailing slash",
		"example.com//x":              "double slash",
		"example.com/../x":            `element ".." is not allowed`,
		"example.com/.x":              "starts or ends with a dot",
		"example.com/x.":              "starts or ends with a dot",
		"example.com/your service":    `invalid character ' '`,
		"example.com/yourservicé":     `invalid character 'é'`,
		"Example.com/x":               "must be lower case",
		"-example.com/x":              "starts with a dash",
		"example.com/YourService":     "must start with a lower-case letter",
		"example.com/2fast":           "must start with a lower-case letter",
		"example.com/your_service":    `has '_'`,
		"example.com/your.service":    `has '.'`,
		"example.com/yourservice-":    "ends with a dash",
		"example.com/yourservice/v1":  "major version suffix /v1 is not allowed",
		"example.com/yourservice/v0":  "major version suffix /v0 is not allowed",
		"example.com/yourservice/v02": "major version suffix /v02 is not allowed",
		"github.com/hexchi/starter":   "the template's own",
	}
	for path, want := range bad {
		name, err := serviceName(path)
		if err == nil {
			t.Errorf("serviceName(%q) = %q, want an error saying %q", path, name, want)
			continue
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("serviceName(%q) error %q, want it to name the path and say %q", path, err, want)
		}
	}
}
