package run

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/internal/cli"
)

// TestMultilangCommand: `BIN multilang` refuses a missing or unknown
// component as a usage or plain error, and malformed input from the host
// ends it with a message on stderr and exit 1.
func TestMultilangCommand(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  string
	}{
		{"no component", []string{"multilang"}, "", 2, "--component NAME is required"},
		{"unknown component", []string{"multilang", "--component", "nope"}, "", 1, `no component "nope" in the topology; its components are words, sink`},
		{"not JSON", []string{"multilang", "--component", "sink"}, "garbage\nend\n", 1, "invalid JSON"},
		{"no handshake", []string{"multilang", "--component", "sink"}, "", 1, "closed stdin before the handshake"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Execute(context.Background(), &Env{Name: "wc", Builder: builder(),
				Streams: cli.Streams{In: strings.NewReader(c.stdin), Out: &out, Err: &errb}}, c.args)
			if code != c.code || !strings.Contains(errb.String(), c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, errb.String(), c.code, c.want)
			}
		})
	}
}
