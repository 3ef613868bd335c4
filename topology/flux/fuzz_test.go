package flux

import (
	"os"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the Flux parser: it must return a
// topology or an error, never panic.
func FuzzParse(f *testing.F) {
	for _, path := range []string{"testdata/wordcount.yaml", "../../examples/multilang/resources/multilang.yaml"} {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(minimal))
	f.Add([]byte("name: ${ENV-X}\nspouts: [{id: s, className: x, parallelism: -1}]"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		resolved, err := substitute(raw, map[string]string{"X": "y"})
		if err != nil {
			return
		}
		topo, err := parse(resolved)
		if err == nil && topo.Definition == nil {
			t.Fatal("no error and no definition")
		}
	})
}
