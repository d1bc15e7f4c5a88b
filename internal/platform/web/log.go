package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// NewLogger returns the app's logger: records at level or above, written to
// w as JSON (one object per line, for machines) or text (logfmt, for
// people), each carrying the request id of the context it was logged with.
// level is a slog level name: debug, info, warn or error.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}

	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
	return slog.New(requestIDHandler{h}), nil
}

// requestIDHandler adds request_id to every record logged with a context
// that has one, so a call like log.InfoContext(r.Context(), ...) anywhere
// below AssignRequestID is tied to its request without passing ids around.
//
// A record logged through a logger with an open group (WithGroup) carries
// request_id inside that group: slog offers a handler no way to add an
// attribute at the top level once a group is open.
type requestIDHandler struct {
	slog.Handler
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs and WithGroup must wrap the derived handler too, or loggers
// made with With or WithGroup would lose the request id.

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
