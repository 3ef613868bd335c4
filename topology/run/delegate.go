package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/localstorm/localstorm/internal/cli"
)

// The subcommands a user types to run the topology somewhere, submit and
// local, are the localstorm command's: a topology binary hands itself to
// `localstorm submit` or `localstorm local` (as Storm 2's `storm local`
// runs a jar on a cluster the storm command provides). A topology binary
// thus links only what its workers run: every worker process is this
// binary, and the HTTP client, TLS and a whole in-process cluster (nimbus,
// ZooKeeper, the web UI) linked into it would cost each worker half as much
// memory again, for commands it never runs.

// viaLocalstorm is a subcommand that runs `localstorm VERB THIS-BINARY ARGS`.
func viaLocalstorm(verb string) func(ctx context.Context, env *Env, args []string) error {
	return func(ctx context.Context, env *Env, args []string) error {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("%s: this binary's path: %w", verb, err)
		}
		bin, err := findLocalstorm(self, verb)
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, bin, append([]string{verb, self}, args...)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = env.In, env.Out, env.Err
		// Ctrl-C reaches both processes; on a cancel, let localstorm stop
		// what it started rather than kill it.
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = time.Minute
		err = cmd.Run()
		if exit := (*exec.ExitError)(nil); errors.As(err, &exit) && exit.ExitCode() > 0 {
			// localstorm said what went wrong; keep its exit code (2: usage).
			return &cli.ExitError{Code: exit.ExitCode(), Err: fmt.Errorf("%s %s exited with code %d", bin, verb, exit.ExitCode())}
		}
		return err
	}
}

// findLocalstorm finds the localstorm command next to self (bin/ of a
// checkout, a release archive), then on PATH.
func findLocalstorm(self, verb string) (string, error) {
	name := "localstorm"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if p := filepath.Join(filepath.Dir(self), name); isExecutable(p) {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s is done by the localstorm command, which is neither next to %s nor on PATH: install it (go install github.com/localstorm/localstorm/cmd/localstorm@latest), or run `localstorm %s %s`", verb, self, verb, self)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}
