// Package api holds the contract of the JSON API: openapi.yaml, an
// OpenAPI 3.0 document written before the code that serves it.
package api

import _ "embed" // for go:embed

// OpenAPI is openapi.yaml, the spec the server enforces at run time (the
// app validates every request under /api/v1 against it before a handler
// runs) and the API tests check every exchange against. It is embedded so
// that the binary cannot run with another spec than the one it was built
// and tested with. Treat it as read-only.
//
//go:embed openapi.yaml
var OpenAPI []byte
