package shell

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/topology"
)

func TestDecodeShellMsg(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want shellMsg
	}{
		{"bolt emit", `{"command":"emit","anchors":["1","2"],"stream":"s","tuple":["a",1,1.5,null,[1,2]]}`,
			shellMsg{Command: "emit", Stream: "s", NeedTaskIDs: true, Level: 2, Anchors: []string{"1", "2"},
				Tuple: topology.Values{"a", int64(1), 1.5, nil, []any{int64(1), int64(2)}}}},
		{"one anchor alone", `{"command":"emit","anchors":"7","tuple":[]}`,
			shellMsg{Command: "emit", Stream: "default", NeedTaskIDs: true, Level: 2, Anchors: []string{"7"}, Tuple: topology.Values{}}},
		{"spout emit direct without ids", `{"command":"emit","id":12,"task":9,"need_task_ids":false,"tuple":["x"]}`,
			shellMsg{Command: "emit", Stream: "default", ID: int64(12), Task: 9, Level: 2, Tuple: topology.Values{"x"}}},
		{"log", `{"command":"log","msg":"hi","level":4}`, shellMsg{Command: "log", Msg: "hi", Stream: "default", NeedTaskIDs: true, Level: 4}},
		{"metrics", `{"command":"metrics","name":"m","params":{"n":2}}`,
			shellMsg{Command: "metrics", Name: "m", Params: map[string]any{"n": int64(2)}, Stream: "default", NeedTaskIDs: true, Level: 2}},
		{"pid", `{"pid": 1234}`, shellMsg{PID: 1234, Stream: "default", NeedTaskIDs: true, Level: 2}},
	}
	for _, tt := range tests {
		got, err := decodeShellMsg([]byte(tt.raw))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", tt.name, got, tt.want)
		}
	}
	for _, bad := range []string{``, `[1,2]`, `null`, `{"command":5}`, `{"tuple":"x"}`, `{"task":"x"}`, `{"task":1.5}`,
		`{"anchors":[{}]}`, `{"anchors":5}`, `{"need_task_ids":"no"}`, `{} {}`, `{"a":`} {
		if _, err := decodeShellMsg([]byte(bad)); err == nil {
			t.Errorf("decodeShellMsg(%q): no error", bad)
		}
	}
}

func TestReadWriteMessage(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := writeMessage(w, map[string]any{"a": "line1\nline2"}); err != nil {
		t.Fatal(err)
	}
	if err := writeMessage(w, []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "{\"a\":\"line1\\nline2\"}\nend\n[1,2]\nend\n" {
		t.Errorf("written %q", got)
	}
	// Messages may span lines and use CRLF.
	r := bufio.NewReader(strings.NewReader("{\"a\":\r\n1}\r\nend\r\n{}\nend\n{\"b\":2}"))
	for _, want := range []string{"{\"a\":\n1}", "{}"} {
		got, err := readMessage(r)
		if err != nil || string(got) != want {
			t.Errorf("readMessage = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := readMessage(r); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("truncated message: %v", err)
	}
}

func FuzzDecodeShellMsg(f *testing.F) {
	for _, seed := range []string{
		`{"command":"emit","anchors":["1"],"tuple":["a",1]}`,
		`{"command":"emit","id":"x","task":3,"need_task_ids":false,"tuple":[]}`,
		`{"pid":1}`, `{"command":"log","msg":"m","level":1}`, `[1]`, `{"anchors":"1"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := decodeShellMsg(raw)
		if err == nil && m.Stream == "" {
			t.Errorf("decoded %q with an empty stream", raw)
		}
	})
}

func FuzzReadMessage(f *testing.F) {
	f.Add([]byte("{}\nend\n"))
	f.Add([]byte("a\r\nb\nend\nc"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(raw), 16)
		for i := 0; i <= len(raw); i++ {
			msg, err := readMessage(r)
			if err != nil {
				return
			}
			if len(msg) > len(raw) {
				t.Fatalf("message of %d bytes from %d bytes of input", len(msg), len(raw))
			}
		}
	})
}

func TestWorkingDir(t *testing.T) {
	plain := t.TempDir()
	if got := workingDir(plain); got != plain {
		t.Errorf("resources dir: %q", got)
	}
	dist := t.TempDir()
	for _, p := range []string{filepath.Join(dist, "resources")} {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A resources/ alone is the author's: stay.
	if got := workingDir(dist); got != dist {
		t.Errorf("dir with a resources/ subdir: %q", got)
	}
	if err := os.WriteFile(filepath.Join(dist, "stormtopology.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := workingDir(dist); got != filepath.Join(dist, "resources") {
		t.Errorf("stormdist dir: %q", got)
	}
}
