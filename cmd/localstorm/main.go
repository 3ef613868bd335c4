// Command localstorm boots and drives a local Apache Storm cluster: `localstorm
// up` runs ZooKeeper, nimbus and supervisors with real worker processes in one
// command; the other commands submit and observe topologies.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(exitCode(os.Stderr, err))
}

// Streams are the standard streams a command uses: data on Out, logs and
// progress on Err.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// usageError is a mistake on the command line (exit code 2).
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// errHelp is returned after help was printed on request (exit code 0).
var errHelp = errors.New("help requested")

func exitCode(stderr io.Writer, err error) int {
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "error: %v\nRun 'localstorm help' for usage.\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
}
