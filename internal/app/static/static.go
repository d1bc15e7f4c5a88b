// Package static holds the files the app serves under /static/: its
// stylesheet and, once it has some, images. They are embedded, so the binary
// is the whole deployment.
//
// It is a package of its own so that its files sit at the root of FS:
// http.StripPrefix("/static/", http.FileServerFS(static.FS)) maps a URL to
// a file with no fs.Sub, and the FS can hold nothing but these files (the
// Go source is not embedded).
package static

import "embed"

// FS holds the static files, at its root.
//
//go:embed *.css
var FS embed.FS
