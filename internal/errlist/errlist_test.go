package errlist

import (
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/hashicorp/go-multierror"
)

func TestFormat(t *testing.T) {
	cases := []struct {
		name string
		errs []error
		want string
	}{
		{"one problem prints as itself", []error{errors.New("a")}, "a"},
		{"several get a count and a line each", []error{errors.New("a"), errors.New("b")}, "2 problems:\n\ta\n\tb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Format(tc.errs); got != tc.want {
				t.Fatalf("Format = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestErrAndJoin(t *testing.T) {
	if err := Err(nil); err != nil {
		t.Fatalf("Err(nil) = %v, want nil", err)
	}
	if err := Err(&multierror.Error{}); err != nil {
		t.Fatalf("Err(empty) = %v, want nil", err)
	}
	if err := Join(nil, nil); err != nil {
		t.Fatalf("Join(nil, nil) = %v, want nil", err)
	}
	err := Join(io.EOF, nil, fs.ErrNotExist)
	if got, want := err.Error(), "2 problems:\n\tEOF\n\tfile does not exist"; got != want {
		t.Fatalf("Join = %q, want %q", got, want)
	}
	if !errors.Is(err, io.EOF) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("errors.Is does not see every problem of %v", err)
	}
	var list *multierror.Error
	if !errors.As(err, &list) || len(list.Errors) != 2 {
		t.Fatalf("Join = %#v, want a list of 2", err)
	}
}

func TestAppendPrefixed(t *testing.T) {
	var list *multierror.Error
	list = AppendPrefixed(list, "spout \"s\"", nil)
	if list != nil {
		t.Fatalf("a nil error was appended: %v", list)
	}
	list = AppendPrefixed(list, "spout \"s\"", io.EOF)
	list = AppendPrefixed(list, "bolt \"b\"", Join(errors.New("x"), errors.New("y")))
	want := "3 problems:\n\tspout \"s\": EOF\n\tbolt \"b\": x\n\tbolt \"b\": y"
	if got := Err(list).Error(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !errors.Is(Err(list), io.EOF) {
		t.Fatal("a prefixed error no longer wraps its cause")
	}
}
