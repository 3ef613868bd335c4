package procs

import (
	"testing"
	"time"
)

var sink int

func TestParseUsage(t *testing.T) {
	// A real line of /proc/<pid>/stat, with a command name holding ") (".
	line := "4242 (a) (b) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 70 0 0 20 0 9 0 123456 1073741824 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	u, err := parseUsage([]byte(line), 4096)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Usage{CPUMillis: 3200, RSSBytes: 2560 * 4096}); u != want {
		t.Fatalf("parseUsage = %+v, want %+v", u, want)
	}
	if _, err := parseUsage([]byte("1 (x) S 1 2"), 4096); err == nil {
		t.Fatal("parseUsage of a short line: no error")
	}
}

func TestSelfUsage(t *testing.T) {
	// Burn CPU until the process has used a tick (10 ms), for at most 10 s.
	u := SelfUsage()
	for deadline := time.Now().Add(10 * time.Second); u.CPUMillis == 0 && time.Now().Before(deadline); u = SelfUsage() {
		for i := 0; i < 1_000_000; i++ {
			sink += i
		}
	}
	if u.RSSBytes < 1<<20 || u.CPUMillis <= 0 {
		t.Fatalf("SelfUsage = %+v, want RSS over 1 MiB and some CPU time", u)
	}
}
