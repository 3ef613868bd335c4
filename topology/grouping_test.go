package topology

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// evenGrouping is a custom grouping sending to the even targets.
type evenGrouping struct {
	stream  string
	targets []int
}

func (e *evenGrouping) Prepare(_ *Context, stream string, targets []int) {
	e.stream = stream
	for _, t := range targets {
		if t%2 == 0 {
			e.targets = append(e.targets, t)
		}
	}
}

func (e *evenGrouping) ChooseTasks(int, Values) []int { return e.targets }

func mustGrouper(t testing.TB, g Grouping, fields Fields, targets, local []int) Grouper {
	t.Helper()
	gr, err := NewGrouper(g, fields, targets, local)
	if err != nil {
		t.Fatalf("NewGrouper(%+v): %v", g, err)
	}
	return gr
}

var targets = []int{7, 3, 5, 9} // unsorted on purpose

func TestShuffleIsRoundRobinOverAllTargets(t *testing.T) {
	g := mustGrouper(t, Grouping{Type: GroupShuffle}, nil, targets, nil)
	var first []int
	for i := 0; i < 4; i++ {
		first = append(first, g.ChooseTasks(1, nil)...)
	}
	sorted := slices.Sorted(slices.Values(first))
	if !reflect.DeepEqual(sorted, []int{3, 5, 7, 9}) {
		t.Fatalf("first round %v does not visit every target once", first)
	}
	for round := 0; round < 3; round++ {
		for i := 0; i < 4; i++ {
			if got := g.ChooseTasks(1, nil); len(got) != 1 || got[0] != first[i] {
				t.Fatalf("round %d pick %d = %v, want %d (round robin)", round, i, got, first[i])
			}
		}
	}
}

func TestLocalOrShuffle(t *testing.T) {
	g := mustGrouper(t, Grouping{Type: GroupLocalOrShuffle}, nil, targets, []int{5, 9, 100})
	seen := map[int]int{}
	for i := 0; i < 100; i++ {
		seen[g.ChooseTasks(1, nil)[0]]++
	}
	if !reflect.DeepEqual(seen, map[int]int{5: 50, 9: 50}) {
		t.Errorf("local targets chosen %v, want 5 and 9 evenly", seen)
	}
	g = mustGrouper(t, Grouping{Type: GroupLocalOrShuffle}, nil, targets, []int{100})
	seen = map[int]int{}
	for i := 0; i < 100; i++ {
		seen[g.ChooseTasks(1, nil)[0]]++
	}
	if len(seen) != 4 {
		t.Errorf("no local target: chose %v, want all four", seen)
	}
}

func TestFieldsGrouping(t *testing.T) {
	fields := Fields{"word", "n"}
	g := mustGrouper(t, Grouping{Type: GroupFields, Fields: Fields{"word"}}, fields, targets, nil)
	sorted := []int{3, 5, 7, 9}
	seen := map[int]bool{}
	for i := 0; i < 200; i++ {
		w := fmt.Sprintf("w%d", i%50)
		got := g.ChooseTasks(1, Values{w, i})
		again := g.ChooseTasks(2, Values{w, i + 1})
		if len(got) != 1 || got[0] != again[0] {
			t.Fatalf("key %q went to %v then %v", w, got, again)
		}
		if want := sorted[HashValues(Values{w})%4]; got[0] != want {
			t.Fatalf("key %q went to %d, want %d", w, got[0], want)
		}
		seen[got[0]] = true
	}
	if len(seen) != 4 {
		t.Errorf("50 keys used only tasks %v", seen)
	}
	// Equal numbers of different Go types, as decoders produce, agree.
	for _, v := range []any{int64(42), uint32(42), float64(42), uint64(42), int8(42)} {
		if HashValues(Values{v}) != HashValues(Values{42}) {
			t.Errorf("%T 42 hashes differently from int 42", v)
		}
	}
	if HashValues(Values{"42"}) == HashValues(Values{42}) {
		t.Error(`"42" and 42 hash alike`)
	}
	if HashValues(Values{"ab", "c"}) == HashValues(Values{"a", "bc"}) {
		t.Error("value boundaries are not part of the hash")
	}
}

// TestFieldsHashIsStable pins the hash: it must not change between runs,
// processes or releases, or running workers of different builds would
// disagree on where keys go. (The values come from an independent Python
// rendering of the algorithm described at mixWord.)
func TestFieldsHashIsStable(t *testing.T) {
	tests := []struct {
		values Values
		want   uint64
	}{
		{Values{"nathan"}, 0xff6af4269572fe75},
		{Values{"a string longer than eight bytes"}, 0x06dad8398ad67f31},
		{Values{1}, 0x4aee0e18b46fe1a6},
		{Values{nil, true, 2.5, []byte("x")}, 0x4eb145a74a69f5f3},
	}
	for _, tt := range tests {
		if got := HashValues(tt.values); got != tt.want {
			t.Errorf("HashValues(%v) = %#x, want %#x", tt.values, got, tt.want)
		}
	}
}

func TestPartialKeyGroupingBalancesAHotKey(t *testing.T) {
	g := mustGrouper(t, Grouping{Type: GroupPartialKey, Fields: Fields{"word"}}, Fields{"word"}, targets, nil)
	counts := map[int]int{}
	for i := 0; i < 1000; i++ {
		counts[g.ChooseTasks(1, Values{"hot"})[0]]++
	}
	// One key goes to at most two tasks, split evenly between them.
	if len(counts) > 2 {
		t.Fatalf("one key went to %d tasks: %v", len(counts), counts)
	}
	if len(counts) == 2 {
		for task, n := range counts {
			if n != 500 {
				t.Errorf("task %d got %d of 1000, want 500", task, n)
			}
		}
	}
	// Without fields the first value is the key.
	g = mustGrouper(t, Grouping{Type: GroupPartialKey}, Fields{"a", "b"}, targets, nil)
	for i := 0; i < 100; i++ {
		got := g.ChooseTasks(1, Values{"k", i})[0]
		if !slices.Contains(targets, got) {
			t.Fatalf("chose %d, not a target", got)
		}
	}
	// Many keys spread over all tasks.
	g = mustGrouper(t, Grouping{Type: GroupPartialKey, Fields: Fields{"word"}}, Fields{"word"}, targets, nil)
	counts = map[int]int{}
	for i := 0; i < 1000; i++ {
		counts[g.ChooseTasks(1, Values{fmt.Sprint(i)})[0]]++
	}
	for task, n := range counts {
		if n < 200 || n > 300 {
			t.Errorf("task %d got %d of 1000 distinct keys, want about 250", task, n)
		}
	}
}

func TestAllGlobalNoneDirect(t *testing.T) {
	if got := mustGrouper(t, Grouping{Type: GroupAll}, nil, targets, nil).ChooseTasks(1, nil); !reflect.DeepEqual(got, []int{3, 5, 7, 9}) {
		t.Errorf("all = %v", got)
	}
	if got := mustGrouper(t, Grouping{Type: GroupGlobal}, nil, targets, nil).ChooseTasks(1, nil); !reflect.DeepEqual(got, []int{3}) {
		t.Errorf("global = %v, want the lowest task", got)
	}
	none := mustGrouper(t, Grouping{Type: GroupNone}, nil, targets, nil)
	seen := map[int]bool{}
	for i := 0; i < 400; i++ {
		got := none.ChooseTasks(1, nil)
		if len(got) != 1 || !slices.Contains(targets, got[0]) {
			t.Fatalf("none = %v", got)
		}
		seen[got[0]] = true
	}
	if len(seen) != 4 {
		t.Errorf("none grouping over 400 tuples used only %v", seen)
	}
	if got := mustGrouper(t, Grouping{Type: GroupDirect}, nil, targets, nil).ChooseTasks(1, nil); len(got) != 0 {
		t.Errorf("direct = %v, want none (EmitDirect chooses)", got)
	}
}

func TestCustomGrouping(t *testing.T) {
	RegisterGrouping("even", func() CustomGrouping { return &evenGrouping{} })
	g, err := NewGrouperContext(&Context{}, "words", Grouping{Type: GroupCustom, Custom: "even"}, nil, []int{1, 2, 3, 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.ChooseTasks(1, Values{"x"}); !reflect.DeepEqual(got, []int{2, 4}) {
		t.Errorf("custom = %v", got)
	}
	if cg := g.(customGrouper).c.(*evenGrouping); cg.stream != "words" {
		t.Errorf("Prepare got stream %q", cg.stream)
	}
}

func TestNewGrouperErrors(t *testing.T) {
	tests := []struct {
		name    string
		g       Grouping
		targets []int
	}{
		{"no targets", Grouping{Type: GroupShuffle}, nil},
		{"fields on an unknown field", Grouping{Type: GroupFields, Fields: Fields{"x"}}, targets},
		{"unregistered custom", Grouping{Type: GroupCustom, Custom: "nope"}, targets},
		{"unknown type", Grouping{Type: "random"}, targets},
	}
	for _, tt := range tests {
		if _, err := NewGrouper(tt.g, Fields{"word"}, tt.targets, nil); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

var sink []int

func BenchmarkChooseTasks(b *testing.B) {
	fields := Fields{"word", "count"}
	values := Values{"jackson", 42}
	for _, g := range []Grouping{
		{Type: GroupShuffle},
		{Type: GroupLocalOrShuffle},
		{Type: GroupFields, Fields: Fields{"word"}},
		{Type: GroupPartialKey, Fields: Fields{"word"}},
		{Type: GroupAll},
		{Type: GroupGlobal},
		{Type: GroupNone},
	} {
		b.Run(g.Type, func(b *testing.B) {
			gr := mustGrouper(b, g, fields, []int{1, 2, 3, 4, 5, 6, 7, 8}, []int{1, 2, 3, 4})
			b.ReportAllocs()
			for b.Loop() {
				sink = gr.ChooseTasks(1, values)
			}
		})
	}
}
