// Command app runs the hexchi demo server. Configuration comes from the
// config directory and the environment (see internal/platform/config);
// `app -print-config` shows the result with secrets masked.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hexchi/starter/internal/app"
)

func main() {
	// SIGINT is Ctrl-C; SIGTERM is what Kubernetes, systemd and docker stop
	// send. Either cancels ctx, which starts the graceful shutdown.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Once the first signal has started the shutdown, restore the default
	// handling, so that a second Ctrl-C kills a shutdown that hangs.
	context.AfterFunc(ctx, stop)

	err := app.Run(ctx, os.Args, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}
