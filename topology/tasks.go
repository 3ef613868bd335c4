package topology

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
)

// ComponentTasks assigns task ids 1..N to the components in sorted
// component-id order, as Storm's storm-task-info does, including numAckers
// tasks of AckerComponent (none when numAckers is 0). A component's NumTasks 0
// means one task per executor (its parallelism). Nimbus and workers both use
// it, so they agree on every task id.
func (d *Definition) ComponentTasks(numAckers int) map[string][]int {
	counts := map[string]int{}
	for _, comps := range []map[string]*ComponentDef{d.Spouts, d.Bolts} {
		for id, c := range comps {
			if c == nil {
				continue
			}
			n := c.NumTasks
			if n == 0 {
				n = c.Parallelism
			}
			counts[id] = max(n, 0)
		}
	}
	if numAckers > 0 {
		counts[AckerComponent] = numAckers
	}
	out := make(map[string][]int, len(counts))
	next := 1
	for _, id := range slices.Sorted(maps.Keys(counts)) {
		tasks := make([]int, counts[id])
		for i := range tasks {
			tasks[i] = next
			next++
		}
		out[id] = tasks
	}
	return out
}

// TaskToComponent is the inverse of ComponentTasks.
func (d *Definition) TaskToComponent(numAckers int) map[int]string {
	out := map[int]string{}
	for id, tasks := range d.ComponentTasks(numAckers) {
		for _, t := range tasks {
			out[t] = id
		}
	}
	return out
}

// Executors splits a component's tasks into at most parallelism contiguous
// [first, last] ranges, as Storm's partition-fixed does: sizes differ by at
// most one, larger ranges first; no empty range (fewer tasks than
// parallelism gives one executor per task).
func Executors(tasks []int, parallelism int) [][2]int {
	if parallelism < 1 || len(tasks) == 0 {
		return nil
	}
	sorted := append([]int(nil), tasks...)
	sort.Ints(sorted)
	n := min(parallelism, len(sorted))
	base, extra := len(sorted)/n, len(sorted)%n
	out := make([][2]int, 0, n)
	i := 0
	for k := 0; k < n; k++ {
		size := base
		if k < extra {
			size++
		}
		out = append(out, [2]int{sorted[i], sorted[i+size-1]})
		i += size
	}
	return out
}

// NumAckers returns topology.acker.executors from conf, or numWorkers when it
// is unset (nil), as Storm does. Negative or non-numeric values count as 0
// (acking off) — nimbus validates the configuration at submission.
func NumAckers(conf map[string]any, numWorkers int) int {
	v, ok := conf["topology.acker.executors"]
	if !ok || v == nil {
		return numWorkers
	}
	n, err := toInt(v)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// toInt converts a configuration number (YAML/JSON decoders give int, int64
// or float64) to int.
func toInt(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case int32:
		return int(n), nil
	case int64:
		return int(n), nil
	case uint64:
		if n > math.MaxInt32 {
			return 0, fmt.Errorf("%d is too large", n)
		}
		return int(n), nil
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > math.MaxInt32 {
			return 0, fmt.Errorf("%v is not an integer", n)
		}
		return int(n), nil
	case string:
		return strconv.Atoi(n)
	default:
		return 0, fmt.Errorf("%v (%T) is not a number", v, v)
	}
}
