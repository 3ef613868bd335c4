package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
)

func TestReaderAccessors(t *testing.T) {
	c := Conf{
		"secs": 1.5, "zero": 0, "neg": -1, "word": "x", "null": nil,
		"int": 7, "frac": 2.5, "bool": true,
		"ints": []any{1, 2.0}, "badints": []any{1, "2"},
		"hosts": []any{"a", "b:2182"}, "goints": []int{3}, "gostrings": []string{"g"}, "nohosts": []any{}, "blankhost": []any{"a", " "},
	}
	cases := []struct {
		name    string
		read    func(r *Reader) any
		want    any
		wantErr string // "" when the read is good
	}{
		{"Secs", func(r *Reader) any { return r.Secs("secs") }, 1500 * time.Millisecond, ""},
		{"Secs zero", func(r *Reader) any { return r.Secs("zero") }, time.Duration(0), ""},
		{"Secs negative", func(r *Reader) any { return r.Secs("neg") }, time.Duration(0), "a non-negative number of seconds"},
		{"Secs not a number", func(r *Reader) any { return r.Secs("word") }, time.Duration(0), "a number of seconds"},
		{"Secs unset", func(r *Reader) any { return r.Secs("absent") }, time.Duration(0), "a number of seconds"},
		{"SecsOr unset", func(r *Reader) any { return r.SecsOr("null", time.Minute) }, time.Minute, ""},
		{"SecsOr set", func(r *Reader) any { return r.SecsOr("secs", time.Minute) }, 1500 * time.Millisecond, ""},
		{"SecsOr bad", func(r *Reader) any { return r.SecsOr("word", time.Minute) }, time.Duration(0), "a number of seconds"},
		{"PositiveSecs", func(r *Reader) any { return r.PositiveSecs("secs") }, 1500 * time.Millisecond, ""},
		{"PositiveSecs zero", func(r *Reader) any { return r.PositiveSecs("zero") }, time.Duration(0), "a positive number of seconds"},
		{"PositiveSecs negative", func(r *Reader) any { return r.PositiveSecs("neg") }, time.Duration(0), "a positive number of seconds"},
		{"PositiveSecs unset", func(r *Reader) any { return r.PositiveSecs("null") }, time.Duration(0), "a positive number of seconds"},
		{"Millis", func(r *Reader) any { return r.Millis("int") }, 7 * time.Millisecond, ""},
		{"Millis negative", func(r *Reader) any { return r.Millis("neg") }, time.Duration(0), "a non-negative number of milliseconds"},
		{"MillisOr unset", func(r *Reader) any { return r.MillisOr("null", time.Second) }, time.Second, ""},
		{"MillisOr bad", func(r *Reader) any { return r.MillisOr("word", time.Second) }, time.Duration(0), "a non-negative number of milliseconds"},
		{"PortOr", func(r *Reader) any { return r.PortOr("int", 2181) }, 7, ""},
		{"PortOr unset", func(r *Reader) any { return r.PortOr("null", 2181) }, 2181, ""},
		{"PortOr out of range", func(r *Reader) any { return r.PortOr("zero", 2181) }, 0, "a port number in 1..65535"},
		{"Expect holds", func(r *Reader) any { r.Expect("word", true, "a path"); return nil }, nil, ""},
		{"Expect fails", func(r *Reader) any { r.Expect("word", false, "a path"); return nil }, nil, "a path"},
		{"Int", func(r *Reader) any { return r.Int("int") }, 7, ""},
		{"Int fraction", func(r *Reader) any { return r.Int("frac") }, 0, "an integer"},
		{"IntOr unset", func(r *Reader) any { return r.IntOr("null", 64) }, 64, ""},
		{"IntOr bad", func(r *Reader) any { return r.IntOr("word", 64) }, 0, "an integer"},
		{"PositiveInt", func(r *Reader) any { return r.PositiveInt("int") }, 7, ""},
		{"PositiveInt zero", func(r *Reader) any { return r.PositiveInt("zero") }, 0, "a positive integer"},
		{"FloatOr", func(r *Reader) any { return r.FloatOr("frac", 1) }, 2.5, ""},
		{"FloatOr unset", func(r *Reader) any { return r.FloatOr("absent", 0.05) }, 0.05, ""},
		{"FloatOr bad", func(r *Reader) any { return r.FloatOr("bool", 1) }, 0.0, "a number"},
		{"BoolOr", func(r *Reader) any { return r.BoolOr("bool", false) }, true, ""},
		{"BoolOr unset", func(r *Reader) any { return r.BoolOr("null", true) }, true, ""},
		{"BoolOr bad", func(r *Reader) any { return r.BoolOr("word", true) }, false, "a boolean"},
		{"String", func(r *Reader) any { return r.String("word") }, "x", ""},
		{"String bad", func(r *Reader) any { return r.String("int") }, "", "a string"},
		{"StringOr unset", func(r *Reader) any { return r.StringOr("null", "d") }, "d", ""},
		{"Ints", func(r *Reader) any { return r.Ints("ints") }, []int{1, 2}, ""},
		{"Ints set by Go", func(r *Reader) any { return r.Ints("goints") }, []int{3}, ""},
		{"Strings set by Go", func(r *Reader) any { return r.Strings("gostrings") }, []string{"g"}, ""},
		{"Ints bad element", func(r *Reader) any { return r.Ints("badints") }, []int(nil), "a list of integers"},
		{"Strings", func(r *Reader) any { return r.Strings("hosts") }, []string{"a", "b:2182"}, ""},
		{"Strings bad", func(r *Reader) any { return r.Strings("ints") }, []string(nil), "a list of strings"},
		{"HostPorts", func(r *Reader) any { return r.HostPorts("hosts", 2181) }, []string{"a:2181", "b:2182"}, ""},
		{"HostPorts empty", func(r *Reader) any { return r.HostPorts("nohosts", 2181) }, []string(nil), "a non-empty list of non-empty host names"},
		{"HostPorts blank host", func(r *Reader) any { return r.HostPorts("blankhost", 2181) }, []string(nil), "a non-empty list of non-empty host names"},
		{"HostPorts not a list", func(r *Reader) any { return r.HostPorts("word", 2181) }, []string(nil), "a non-empty list of non-empty host names"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(c)
			got := tc.read(r)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
			err := r.Err()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var te *TypeError
			if !errors.As(err, &te) || te.Expected != tc.wantErr {
				t.Fatalf("err = %v, want a *TypeError expecting %q", err, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "invalid configuration: config ") {
				t.Fatalf("err = %q, want it to start with the step and the key", err)
			}
		})
	}
}

// TestReaderCollects: every bad key is reported, after Validate's own
// problems, in one error.
func TestReaderCollects(t *testing.T) {
	r := NewReader(Conf{TopologyWorkers: 0, "a": "x", "b": 1.5})
	r.Validate()
	r.PositiveSecs("a")
	r.Int("b")
	r.Int("c") // absent
	err := r.Err()
	var list *multierror.Error
	if !errors.As(err, &list) || len(list.Errors) != 4 {
		t.Fatalf("err = %v, want 4 problems", err)
	}
	want := "invalid configuration: 4 problems:\n\tconfig topology.workers: value 0 is not an integer ≥ 1\n\t" +
		"config a: value \"x\" is not a positive number of seconds\n\tconfig b: value 1.5 is not an integer\n\tconfig c: value <nil> is not an integer"
	if err.Error() != want {
		t.Fatalf("err = %q\nwant  %q", err, want)
	}
	if err := NewReader(Conf{}).Err(); err != nil {
		t.Fatalf("a reader that read nothing: %v", err)
	}
}

// TestReaderReportsAKeyOnce: a key that Validate and an accessor both
// reject is named once.
func TestReaderReportsAKeyOnce(t *testing.T) {
	r := NewReader(Conf{NimbusMonitorFreqSecs: 0})
	r.Validate()
	r.PositiveSecs(NimbusMonitorFreqSecs)
	r.PositiveSecs(NimbusMonitorFreqSecs)
	want := "invalid configuration: config nimbus.monitor.freq.secs: value 0 is not a positive number"
	if err := r.Err(); err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
