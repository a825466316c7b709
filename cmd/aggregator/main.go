// Command aggregator is the Data Aggregator: one binary for the API server,
// migrations, user administration and (from other files in this package) the
// pipeline CLI. main only turns signals into context cancellation and runs the
// root command; each subcommand reads the configuration and calls internal/app.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Stamped at build time (make release): -ldflags "-X main.version=v1.2.3
// -X main.commit=<sha> -X main.date=<RFC 3339 commit time>".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(buildInfo{Version: version, Commit: commit, Date: date}).ExecuteContext(ctx)
	stop()
	var ex errExit
	switch {
	case errors.As(err, &ex):
		os.Exit(ex.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
