package topology

import (
	"reflect"
	"testing"
)

func TestComponentTasks(t *testing.T) {
	d := &Definition{
		Spouts: map[string]*ComponentDef{"spout": {Parallelism: 2, NumTasks: 3}},
		Bolts: map[string]*ComponentDef{
			"count": {Parallelism: 2},
			"Split": {Parallelism: 1, NumTasks: 2},
		},
	}
	// Storm sorts by component id: "Split" < "__acker" < "count" < "spout".
	want := map[string][]int{"Split": {1, 2}, AckerComponent: {3}, "count": {4, 5}, "spout": {6, 7, 8}}
	if got := d.ComponentTasks(1); !reflect.DeepEqual(got, want) {
		t.Errorf("ComponentTasks(1) = %v, want %v", got, want)
	}
	noAckers := map[string][]int{"Split": {1, 2}, "count": {3, 4}, "spout": {5, 6, 7}}
	if got := d.ComponentTasks(0); !reflect.DeepEqual(got, noAckers) {
		t.Errorf("ComponentTasks(0) = %v, want %v", got, noAckers)
	}
	t2c := d.TaskToComponent(1)
	if len(t2c) != 8 || t2c[3] != AckerComponent || t2c[8] != "spout" || t2c[1] != "Split" {
		t.Errorf("TaskToComponent = %v", t2c)
	}
}

func TestExecutors(t *testing.T) {
	tests := []struct {
		tasks       []int
		parallelism int
		want        [][2]int
	}{
		{[]int{1, 2, 3, 4}, 4, [][2]int{{1, 1}, {2, 2}, {3, 3}, {4, 4}}},
		{[]int{1, 2, 3, 4, 5}, 2, [][2]int{{1, 3}, {4, 5}}},
		{[]int{3, 4, 5, 6, 7, 8, 9}, 3, [][2]int{{3, 5}, {6, 7}, {8, 9}}},
		{[]int{5, 6}, 4, [][2]int{{5, 5}, {6, 6}}},
		{[]int{5, 6}, 0, nil},
		{nil, 3, nil},
	}
	for _, tt := range tests {
		if got := Executors(tt.tasks, tt.parallelism); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Executors(%v, %d) = %v, want %v", tt.tasks, tt.parallelism, got, tt.want)
		}
	}
}

func TestNumAckers(t *testing.T) {
	tests := []struct {
		conf map[string]any
		want int
	}{
		{nil, 3},
		{map[string]any{"topology.acker.executors": nil}, 3},
		{map[string]any{"topology.acker.executors": 0}, 0},
		{map[string]any{"topology.acker.executors": 2}, 2},
		{map[string]any{"topology.acker.executors": float64(5)}, 5},
		{map[string]any{"topology.acker.executors": int64(4)}, 4},
		{map[string]any{"topology.acker.executors": "x"}, 0},
	}
	for _, tt := range tests {
		if got := NumAckers(tt.conf, 3); got != tt.want {
			t.Errorf("NumAckers(%v, 3) = %d, want %d", tt.conf, got, tt.want)
		}
	}
}
