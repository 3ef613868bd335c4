package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/internal/cli"
)

func TestWarnIfExposed(t *testing.T) {
	for _, tc := range []struct {
		addr string
		warn bool
	}{
		{"127.0.0.1:0", false},
		{"127.0.0.2:8080", false},
		{"localhost:8080", false},
		{"[::1]:8080", false},
		{"0.0.0.0:8080", true},
		{":8080", true},
		{"[::]:8080", true},
		{"192.168.1.5:8080", true},
		{"storm.lan:8080", true},
	} {
		var out, errs bytes.Buffer
		warnIfExposed(cli.Streams{Out: &out, Err: &errs}, tc.addr)
		if got := strings.Contains(errs.String(), "anyone on the network"); got != tc.warn || out.Len() != 0 {
			t.Errorf("--api-addr %s: stderr %q, stdout %q; want a warning: %v (on stderr only)", tc.addr, errs.String(), out.String(), tc.warn)
		}
	}
}
