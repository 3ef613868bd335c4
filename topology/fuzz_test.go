package topology

import (
	"encoding/json"
	"testing"
)

// FuzzDefinition decodes stormtopology.json as nimbus and workers do: a
// definition that validates must give contiguous task ids and executors
// covering each component's tasks exactly.
func FuzzDefinition(f *testing.F) {
	f.Add([]byte(`{"v":1,"spouts":{"s":{"id":"s","parallelism":2,"numTasks":3,"outputs":{"default":{"fields":["w"]}}}},` +
		`"bolts":{"b":{"id":"b","parallelism":1,"inputs":[{"component":"s","stream":"default","grouping":{"type":"fields","fields":["w"]}}],"outputs":{}}}}`))
	f.Add([]byte(`{"spouts":{"__x":{"parallelism":-1}},"bolts":{"b":{"inputs":[{"component":"q"}]}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var d Definition
		if json.Unmarshal(raw, &d) != nil || d.Validate() != nil {
			return
		}
		tasks := d.ComponentTasks(2)
		seen := map[int]bool{}
		for id, ts := range tasks {
			for _, task := range ts {
				if seen[task] || task < 1 {
					t.Fatalf("task %d of %q repeated or not positive", task, id)
				}
				seen[task] = true
			}
			if id == AckerComponent {
				continue
			}
			c := d.component(id)
			covered := 0
			for _, e := range Executors(ts, c.Parallelism) {
				covered += e[1] - e[0] + 1
			}
			if covered != len(ts) {
				t.Fatalf("executors of %q cover %d of %d tasks", id, covered, len(ts))
			}
		}
		for i := 1; i <= len(seen); i++ {
			if !seen[i] {
				t.Fatalf("task ids are not 1..%d: %d missing", len(seen), i)
			}
		}
	})
}
