package topology

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
)

// Grouper chooses the target tasks of one subscription for each tuple. A
// Grouper is used by one goroutine (the emitting executor) and is not safe for
// concurrent use. The returned slice is owned by the Grouper and valid only
// until the next call: callers must not keep or modify it.
type Grouper interface {
	ChooseTasks(sourceTask int, values Values) []int
}

// CustomGrouping is a user grouping registered by name with RegisterGrouping
// (Storm's CustomStreamGrouping).
type CustomGrouping interface {
	// Prepare is called once before any ChooseTasks, with the emitting task's
	// context (nil when the caller has none), the stream and the target tasks.
	Prepare(ctx *Context, stream string, targetTasks []int)
	ChooseTasks(taskID int, values Values) []int
}

var (
	groupingsMu sync.RWMutex
	groupings   = map[string]func() CustomGrouping{}
)

// RegisterGrouping makes a custom grouping available under name to
// CustomGrouping subscriptions. Register before building the topology (the
// builder checks the name) and in every process running it (the worker).
func RegisterGrouping(name string, factory func() CustomGrouping) {
	groupingsMu.Lock()
	defer groupingsMu.Unlock()
	groupings[name] = factory
}

func groupingRegistered(name string) bool {
	groupingsMu.RLock()
	defer groupingsMu.RUnlock()
	return groupings[name] != nil
}

// NewGrouper makes the grouper of a subscription with grouping g to a stream
// with streamFields, whose subscribing bolt has targetTasks; localTasks are
// the target tasks in the calling worker (for local_or_shuffle). A custom
// grouping is prepared with a nil context and an empty stream name; use
// NewGrouperContext to give them.
func NewGrouper(g Grouping, streamFields Fields, targetTasks []int, localTasks []int) (Grouper, error) {
	return NewGrouperContext(nil, "", g, streamFields, targetTasks, localTasks)
}

// NewGrouperContext is NewGrouper with the emitting task's context and the
// stream id, which custom groupings receive in Prepare.
//
// A direct grouping's ChooseTasks returns nil: direct tuples go only to the
// task given to EmitDirect, which the router checks against targetTasks.
func NewGrouperContext(ctx *Context, stream string, g Grouping, streamFields Fields, targetTasks []int, localTasks []int) (Grouper, error) {
	targets := slices.Clone(targetTasks)
	sort.Ints(targets)
	if len(targets) == 0 && g.Type != GroupCustom {
		return nil, fmt.Errorf("%s grouping: no target tasks", g.Type)
	}
	switch g.Type {
	case GroupShuffle:
		return newShuffle(targets), nil
	case GroupLocalOrShuffle:
		local := intersect(targets, localTasks)
		if len(local) == 0 {
			return newShuffle(targets), nil
		}
		return newShuffle(local), nil
	case GroupFields:
		idx, err := fieldIndexes(g, streamFields)
		if err != nil {
			return nil, err
		}
		return &fieldsGrouper{targets: targets, idx: idx, out: make([]int, 1)}, nil
	case GroupPartialKey:
		idx, err := fieldIndexes(g, streamFields)
		if err != nil {
			return nil, err
		}
		return &partialKeyGrouper{targets: targets, idx: idx, load: make([]uint64, len(targets)), out: make([]int, 1)}, nil
	case GroupAll:
		return allGrouper(targets), nil
	case GroupGlobal:
		return &fixedGrouper{out: targets[:1:1]}, nil
	case GroupNone:
		return &noneGrouper{targets: targets, rng: newRand(), out: make([]int, 1)}, nil
	case GroupDirect:
		return &fixedGrouper{}, nil
	case GroupCustom:
		groupingsMu.RLock()
		factory := groupings[g.Custom]
		groupingsMu.RUnlock()
		if factory == nil {
			return nil, fmt.Errorf("custom grouping %q is not registered (RegisterGrouping)", g.Custom)
		}
		c := factory()
		if c == nil {
			return nil, fmt.Errorf("custom grouping %q: factory returned nil", g.Custom)
		}
		c.Prepare(ctx, stream, targets)
		return customGrouper{c}, nil
	default:
		return nil, fmt.Errorf("unknown grouping type %q", g.Type)
	}
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) }

func intersect(targets, local []int) []int {
	var out []int
	for _, t := range targets {
		if slices.Contains(local, t) {
			out = append(out, t)
		}
	}
	return out
}

// fieldIndexes resolves the grouping fields to positions in the stream's values.
func fieldIndexes(g Grouping, streamFields Fields) ([]int, error) {
	idx := make([]int, 0, len(g.Fields))
	for _, f := range g.Fields {
		i := streamFields.Index(f)
		if i < 0 {
			return nil, fmt.Errorf("%s grouping on field %q, which the stream does not declare (fields: %v)", g.Type, f, streamFields)
		}
		idx = append(idx, i)
	}
	return idx, nil
}

// shuffleGrouper is Storm's ShuffleGrouping: round robin over the targets in
// an order shuffled once.
type shuffleGrouper struct {
	choices [][]int // one single-element slice per target, returned as is
	next    int
}

func newShuffle(targets []int) *shuffleGrouper {
	s := &shuffleGrouper{choices: make([][]int, len(targets))}
	for i, t := range targets {
		s.choices[i] = []int{t}
	}
	newRand().Shuffle(len(s.choices), func(i, j int) { s.choices[i], s.choices[j] = s.choices[j], s.choices[i] })
	return s
}

func (s *shuffleGrouper) ChooseTasks(int, Values) []int {
	c := s.choices[s.next]
	s.next++
	if s.next == len(s.choices) {
		s.next = 0
	}
	return c
}

// fieldsGrouper sends equal keys to the same task: a hash of the selected
// values, deterministic across processes and runs, modulo the task count.
type fieldsGrouper struct {
	targets []int
	idx     []int
	out     []int
}

func (f *fieldsGrouper) ChooseTasks(_ int, values Values) []int {
	h := finish(hashFields(hashSeed, values, f.idx))
	f.out[0] = f.targets[h%uint64(len(f.targets))]
	return f.out
}

// partialKeyGrouper is Storm's PartialKeyGrouping: each key has two candidate
// tasks (two independent hashes); the one this emitter has sent fewer tuples
// to is chosen. With no fields, the first value is the key.
type partialKeyGrouper struct {
	targets []int
	idx     []int
	load    []uint64
	out     []int
}

// Seeds of the two hash functions: Storm's (murmur3 seeds 13 and 17).
const (
	partialKeySeed1 = 13
	partialKeySeed2 = 17
)

func (p *partialKeyGrouper) ChooseTasks(_ int, values Values) []int {
	idx := p.idx
	if len(idx) == 0 {
		idx = firstValue
	}
	n := uint64(len(p.targets))
	a := finish(hashFields(partialKeySeed1, values, idx)) % n
	b := finish(hashFields(partialKeySeed2, values, idx)) % n
	choice := a
	if p.load[b] < p.load[a] {
		choice = b
	}
	p.load[choice]++
	p.out[0] = p.targets[choice]
	return p.out
}

var firstValue = []int{0}

// allGrouper replicates to every target.
type allGrouper []int

func (a allGrouper) ChooseTasks(int, Values) []int { return a }

// fixedGrouper always returns the same tasks (global: the lowest id; direct: none).
type fixedGrouper struct{ out []int }

func (f *fixedGrouper) ChooseTasks(int, Values) []int { return f.out }

// noneGrouper picks a random target.
type noneGrouper struct {
	targets []int
	rng     *rand.Rand
	out     []int
}

func (g *noneGrouper) ChooseTasks(int, Values) []int {
	g.out[0] = g.targets[g.rng.IntN(len(g.targets))]
	return g.out
}

type customGrouper struct{ c CustomGrouping }

func (g customGrouper) ChooseTasks(task int, values Values) []int {
	return g.c.ChooseTasks(task, values)
}

// The fields hash: a canonical encoding of the values as 64-bit words, each
// mixed in as one lane of MurmurHash3 x64, then MurmurHash3's finaliser so
// that the low bits (used modulo the task count) depend on every input bit.
// It allocates nothing and never changes between processes, runs or
// releases: workers of one topology must agree on where every key goes.
const (
	murmurC1 uint64 = 0x87c37b91114253d5
	murmurC2 uint64 = 0x4cf5ad432745937f
	// hashSeed is the seed of fields grouping.
	hashSeed uint64 = 0
)

// Type tags of the canonical encoding: equal values of different Go integer
// types hash alike (a tuple decoded in another worker may carry int64 where
// the emitter had int), as do float32 and float64.
const (
	tagNil uint64 = iota
	tagInt
	tagUint
	tagFloat
	tagString
	tagBytes
	tagBool
	tagOther
)

func mixWord(h, w uint64) uint64 {
	w *= murmurC1
	w = bits.RotateLeft64(w, 31)
	w *= murmurC2
	h ^= w
	return bits.RotateLeft64(h, 27)*5 + 0x52dce729
}

// finish is MurmurHash3's fmix64.
func finish(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// hashString mixes a tag and the length in one word, then the bytes eight
// at a time (little endian, the last word zero-padded).
func hashString(h uint64, tag uint64, s string) uint64 {
	h = mixWord(h, tag<<56|uint64(len(s)))
	for len(s) >= 8 {
		h = mixWord(h, uint64(s[0])|uint64(s[1])<<8|uint64(s[2])<<16|uint64(s[3])<<24|
			uint64(s[4])<<32|uint64(s[5])<<40|uint64(s[6])<<48|uint64(s[7])<<56)
		s = s[8:]
	}
	if len(s) > 0 {
		var w uint64
		for i := len(s) - 1; i >= 0; i-- {
			w = w<<8 | uint64(s[i])
		}
		h = mixWord(h, w)
	}
	return h
}

// hashFields hashes the values at idx (missing positions hash as nil).
func hashFields(h uint64, values Values, idx []int) uint64 {
	for _, i := range idx {
		var v any
		if i < len(values) {
			v = values[i]
		}
		h = hashValue(h, v)
	}
	return h
}

// HashValues is the hash fields grouping uses for the given values, exposed
// so tests and tools can predict where a key goes: fields grouping sends
// values to targets[HashValues(v) % len(targets)] of the sorted target tasks.
func HashValues(values Values) uint64 {
	h := hashSeed
	for _, v := range values {
		h = hashValue(h, v)
	}
	return finish(h)
}

func hashValue(h uint64, v any) uint64 {
	switch x := v.(type) {
	case nil:
		return mixWord(h, tagNil)
	case string:
		return hashString(h, tagString, x)
	case int:
		return hashInt(h, int64(x))
	case int64:
		return hashInt(h, x)
	case int32:
		return hashInt(h, int64(x))
	case int16:
		return hashInt(h, int64(x))
	case int8:
		return hashInt(h, int64(x))
	case uint:
		return hashUint(h, uint64(x))
	case uint64:
		return hashUint(h, x)
	case uint32:
		return hashInt(h, int64(x))
	case uint16:
		return hashInt(h, int64(x))
	case uint8:
		return hashInt(h, int64(x))
	case float64:
		return hashFloat(h, x)
	case float32:
		return hashFloat(h, float64(x))
	case bool:
		if x {
			return mixWord(h, tagBool<<56|1)
		}
		return mixWord(h, tagBool<<56)
	case []byte:
		return hashString(h, tagBytes, string(x)) // the conversion does not escape: no allocation
	default:
		// Composite values: their printed form, which is deterministic for
		// slices, structs and maps (fmt sorts map keys).
		return hashString(h, tagOther, fmt.Sprintf("%#v", v))
	}
}

func hashInt(h uint64, v int64) uint64 { return mixWord(mixWord(h, tagInt), uint64(v)) }

// hashUint hashes unsigned values that fit int64 as ints (so 5 and uint64(5)
// agree) and larger ones under their own tag.
func hashUint(h uint64, v uint64) uint64 {
	if v <= math.MaxInt64 {
		return hashInt(h, int64(v))
	}
	return mixWord(mixWord(h, tagUint), v)
}

// hashFloat hashes integral floats (and -0) as ints, because JSON decoders
// (multilang tuples) turn every number into float64.
func hashFloat(h uint64, f float64) uint64 {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return hashInt(h, int64(f))
	}
	return mixWord(mixWord(h, tagFloat), math.Float64bits(f))
}
