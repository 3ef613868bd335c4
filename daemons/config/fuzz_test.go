package config

import (
	"strings"
	"testing"
)

// FuzzParseOverride: any command-line argument gives a key or an error,
// never a panic, and a parsed key is the trimmed text before the first '='.
func FuzzParseOverride(f *testing.F) {
	for _, s := range []string{"topology.workers=3", "a=[1,2]", "=", "x", "k={a: [b, {c: d}]}", "k=!!binary AAAA", "k=&a [*a]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, _, err := ParseOverride(s)
		if err != nil {
			return
		}
		before, _, _ := strings.Cut(s, "=")
		if key == "" || key != strings.TrimSpace(before) {
			t.Fatalf("ParseOverride(%q) gave key %q", s, key)
		}
	})
}

// FuzzParseYAML: any storm.yaml text decodes or fails cleanly, and whatever
// decodes can be validated without a panic.
func FuzzParseYAML(f *testing.F) {
	for _, s := range []string{"topology.workers: 2\n", "a: [1,\n", "- x\n", "supervisor.slots.ports: [1, 2, 2]\n", "nimbus.monitor.freq.secs: .inf\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseYAML(data)
		if err != nil {
			return
		}
		_ = Validate(Defaults().Merge(c))
	})
}
