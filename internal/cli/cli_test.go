package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func testProgram() *Program {
	greet := func(ctx context.Context, s Streams, args []string) error {
		fs := NewFlags(s, "prog", "greet", "[--loud] NAME")
		loud := fs.Bool("loud", false, "shout")
		if err := Parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return Usagef("greet needs exactly one NAME")
		}
		if fs.Arg(0) == "late" {
			return &ExitError{Code: 3, Err: errors.New("greet late: too late")}
		}
		if fs.Arg(0) == "nobody" {
			return errors.New("greet nobody: there is nobody to greet")
		}
		msg := "hello " + fs.Arg(0)
		if *loud {
			msg = strings.ToUpper(msg)
		}
		_, err := s.Out.Write([]byte(msg + "\n"))
		return err
	}
	quiet := func(ctx context.Context, s Streams, args []string) error {
		return ParseNoArgs(NewFlags(s, "prog", "quiet", ""), args)
	}
	return &Program{Name: "prog", About: "prog: a test program.", Commands: map[string]Command{
		"greet": {Summary: "say hello", Run: greet},
		"quiet": {Summary: "say nothing", Run: quiet},
	}}
}

// run runs the program as main would and returns what it printed and its exit code.
func run(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	p := testProgram()
	code = Exit(&errb, p.Run(context.Background(), Streams{Out: &out, Err: &errb}, args))
	return out.String(), errb.String(), code
}

func TestExitCodesAndMessages(t *testing.T) {
	cmdUsage := "Usage: prog greet [--loud] NAME\n\nFlags:\n      --loud   shout\n"
	progUsage := "prog: a test program.\n\nUsage: prog COMMAND [flags]\n\nCommands:\n  greet       say hello\n  quiet       say nothing\n\nRun 'prog COMMAND --help' for a command's flags.\n"
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		out, inErr string // stdout exactly; a part of stderr
		errExactly bool
	}{
		{"success", []string{"greet", "--loud", "ann"}, 0, "HELLO ANN\n", "", true},
		{"command error", []string{"greet", "nobody"}, 1, "", "error: greet nobody: there is nobody to greet\n", true},
		{"an exit code of its own", []string{"greet", "late"}, 3, "", "error: greet late: too late\n", true},
		{"bad flag: the command's usage", []string{"greet", "--nope", "ann"}, 2, "", "error: unknown flag: --nope\n" + cmdUsage, true},
		{"usage error of a command: where its usage is", []string{"greet"}, 2, "", "error: greet needs exactly one NAME\nRun 'prog greet --help' for usage.\n", true},
		{"extra argument", []string{"quiet", "x"}, 2, "", `error: quiet takes no arguments, got ["x"]` + "\nUsage: prog quiet", false},
		{"no command: the program's usage", nil, 2, "", "error: no command given\n" + progUsage, true},
		{"unknown command", []string{"dance"}, 2, "", "error: unknown command \"dance\"\n" + progUsage, true},
		{"help", []string{"help"}, 0, "", progUsage, true},
		{"--help", []string{"--help"}, 0, "", progUsage, true},
		{"help of a command", []string{"help", "greet"}, 0, "", cmdUsage, true},
		{"command --help runs nothing", []string{"greet", "--help", "nobody"}, 0, "", cmdUsage, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(tc.args...)
			okErr := strings.Contains(errs, tc.inErr)
			if tc.errExactly {
				okErr = errs == tc.inErr
			}
			if code != tc.code || out != tc.out || !okErr {
				t.Errorf("exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q", code, out, errs, tc.code, tc.out, tc.inErr)
			}
		})
	}
}

func TestUsageWrapping(t *testing.T) {
	if Usage(nil) != nil {
		t.Error("Usage(nil) is not nil")
	}
	base := errors.New("bad")
	err := Usage(base)
	var ue *UsageError
	if !errors.As(err, &ue) || !errors.Is(err, base) || err.Error() != "bad" {
		t.Errorf("Usage(%v) = %#v", base, err)
	}
}

type codedErr int

func (c codedErr) Error() string { return "daemon failed" }
func (c codedErr) ExitCode() int { return int(c) }

// A daemon's failure exits with its own code, as Storm's daemons exit 13,
// 20 or 30 (Utils.exitProcess), even when wrapped.
func TestExitCodeOfADaemonFailure(t *testing.T) {
	var errb strings.Builder
	if code := Exit(&errb, fmt.Errorf("nimbus: %w", codedErr(20))); code != 20 || errb.String() != "error: nimbus: daemon failed\n" {
		t.Errorf("exit %d, stderr %q; want 20 and one error line", code, errb.String())
	}
}
