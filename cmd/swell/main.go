// Command swell is the binary of the swell monitoring and autoscaling
// pipeline. Each subcommand builds a component from a package and runs it;
// no logic lives here beyond wiring flags to options.
//
// Built with -tags swellnode it is the node build: agent, collect and
// version only (commands_node.go), so that what every node maps and runs
// leaves out the control plane (commands_full.go).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills at once.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "swell: error: %v\n", err)
		return 1
	}
	return 0
}
