// Package cli is the core every localstorm command line shares: the
// `localstorm` CLI and topology binaries (topology/run). It holds the
// standard streams, a table of subcommands, usage errors, exit codes and the
// pflag flag sets, so that both speak the same way.
//
// The convention: main calls Program.Main; tests call Program.Run in process.
// A command parses its flags (NewFlags, Parse) and calls a library. Data goes
// to Streams.Out, logs and progress to Streams.Err. The exit code is 0 on
// success and on an explicit --help; 2 on a usage error, printed as one
// "error: ..." line followed by the usage; an error with an ExitCode() int
// method (a daemon's failure, with Storm's codes 13, 20, 30) exits with that
// code; 1 on any other error. Every error is printed as one "error: ..." line.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/localstorm/localstorm/daemons/config"
)

// Streams are the standard streams a command uses: data on Out, logs and
// progress on Err.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// StdStreams are the process's own streams.
func StdStreams() Streams { return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// UsageError is a mistake on the command line: exit code 2, with the usage.
type UsageError struct {
	Err error
	// Usage is printed after the error line; "" = a line saying where the
	// usage is (Program.Run fills it in).
	Usage string
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usage makes err a usage error (nil stays nil).
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &UsageError{Err: err}
}

// Usagef is a usage error made like fmt.Errorf.
func Usagef(format string, a ...any) error { return &UsageError{Err: fmt.Errorf(format, a...)} }

// ExitError is an error with an exit code of its own (not 0 or 2), for a
// command whose exit code tells a script what happened (`localstorm wait`).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the code the process exits with.
func (e *ExitError) ExitCode() int { return e.Code }

// ErrHelp is returned after help was printed on request (exit code 0).
var ErrHelp = errors.New("help requested")

// Command is one subcommand: it parses its own flags and calls libraries.
type Command struct {
	Summary string
	Run     func(ctx context.Context, s Streams, args []string) error
}

// Program is a command line made of subcommands.
type Program struct {
	Name     string // as the user types it, in usage lines
	About    string // one sentence at the top of the usage
	Commands map[string]Command
}

// Usage lists the program's commands.
func (p *Program) Usage() string {
	var b strings.Builder
	if p.About != "" {
		fmt.Fprintf(&b, "%s\n\n", p.About)
	}
	fmt.Fprintf(&b, "Usage: %s COMMAND [flags]\n\nCommands:\n", p.Name)
	for _, n := range slices.Sorted(maps.Keys(p.Commands)) {
		fmt.Fprintf(&b, "  %-11s %s\n", n, p.Commands[n].Summary)
	}
	fmt.Fprintf(&b, "\nRun '%s COMMAND --help' for a command's flags.\n", p.Name)
	return b.String()
}

// Run runs the command named by args[0] with the rest of args. "help",
// "-h" and "--help" print the usage (of a command, when one is named).
func (p *Program) Run(ctx context.Context, s Streams, args []string) error {
	if len(args) == 0 {
		return &UsageError{Err: errors.New("no command given"), Usage: p.Usage()}
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if _, ok := p.Commands[args[1]]; ok {
				return p.Run(ctx, s, []string{args[1], "--help"})
			}
		}
		fmt.Fprint(s.Err, p.Usage())
		return ErrHelp
	}
	cmd, ok := p.Commands[args[0]]
	if !ok {
		return &UsageError{Err: fmt.Errorf("unknown command %q", args[0]), Usage: p.Usage()}
	}
	err := cmd.Run(ctx, s, args[1:])
	if ue := (*UsageError)(nil); errors.As(err, &ue) && ue.Usage == "" {
		ue.Usage = fmt.Sprintf("Run '%s %s --help' for usage.\n", p.Name, args[0])
	}
	return err
}

// Exit prints err on stderr as the convention says and returns the exit code.
func Exit(stderr io.Writer, err error) int {
	var ue *UsageError
	var coded interface{ ExitCode() int }
	switch {
	case err == nil, errors.Is(err, ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "error: %v\n%s", err, ue.Usage)
		return 2
	case errors.As(err, &coded) && coded.ExitCode() > 0:
		// An error with a code of its own: a daemon's failure with Storm's
		// exit code (13, 20, 30), or a script-facing command's (ExitError).
		fmt.Fprintf(stderr, "error: %v\n", err)
		return coded.ExitCode()
	default:
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
}

// Main runs the program on the process's arguments and streams and exits.
// SIGINT and SIGTERM cancel the command's context.
func (p *Program) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := p.Run(ctx, StdStreams(), os.Args[1:])
	stop()
	os.Exit(Exit(os.Stderr, err))
}

// NewFlags makes the flag set of command name of program prog; synopsis
// follows "Usage: prog name" in its usage. Use Parse to parse it.
func NewFlags(s Streams, prog, name, synopsis string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(s.Err)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s %s %s\n\nFlags:\n%s", prog, name, synopsis, fs.FlagUsages())
	}
	return fs
}

// Parse parses args: --help gives ErrHelp (the usage is printed), a bad flag
// a usage error that carries the command's usage.
func Parse(fs *pflag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil {
		return nil
	}
	if errors.Is(err, pflag.ErrHelp) {
		return ErrHelp
	}
	return &UsageError{Err: err, Usage: usageOf(fs)}
}

// ParseNoArgs is Parse for a command that takes flags only.
func ParseNoArgs(fs *pflag.FlagSet, args []string) error {
	if err := Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Err: fmt.Errorf("%s takes no arguments, got %q", fs.Name(), fs.Args()), Usage: usageOf(fs)}
	}
	return nil
}

// Overrides reads the values of -c key=value flags (each value parsed as
// YAML) into a configuration.
func Overrides(list []string) (config.Conf, error) {
	conf := config.Conf{}
	for _, o := range list {
		k, v, err := config.ParseOverride(o)
		if err != nil {
			return nil, Usage(err)
		}
		conf[k] = v
	}
	return conf, nil
}

// Positive refuses a zero or negative value of the named int flags: flags
// whose zero would otherwise silently mean a default.
func Positive(fs *pflag.FlagSet, names ...string) error {
	for _, n := range names {
		v, err := fs.GetInt(n)
		if err != nil {
			return err
		}
		if v < 1 {
			return &UsageError{Err: fmt.Errorf("--%s %d: give 1 or more", n, v), Usage: usageOf(fs)}
		}
	}
	return nil
}

func usageOf(fs *pflag.FlagSet) string {
	var b strings.Builder
	out := fs.Output()
	fs.SetOutput(&b)
	fs.Usage()
	fs.SetOutput(out)
	return b.String()
}
