package topology

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Metrics v1, as Storm's org.apache.storm.metric.api: a task registers
// metrics on its Context while it opens or prepares (RegisterMetric, with a
// time bucket in seconds); at the end of every bucket the worker takes each
// metric's value (GetValueAndReset) and hands the task's data points to the
// topology's metrics consumers (topology.metrics.consumer.register).
//
// The metric types here are safe for concurrent use: a component may update
// them from goroutines of its own (a shell component's reader does), while
// the worker takes their values from the executor's goroutine.

// Metric is Storm's IMetric: GetValueAndReset returns the value of the
// bucket that ends and starts the next one. A nil value is not reported.
type Metric interface {
	GetValueAndReset() any
}

// ShellMetric is Storm's IShellMetric: a metric a multilang subprocess
// updates with its "metrics" command, by the name the host component
// registered it under.
type ShellMetric interface {
	Metric
	UpdateMetricFromRPC(params any) error
}

// CountMetric counts; its value is the count of the bucket (an int64).
type CountMetric struct {
	mu sync.Mutex
	n  int64
}

// Incr adds one.
func (m *CountMetric) Incr() { m.IncrBy(1) }

// IncrBy adds n.
func (m *CountMetric) IncrBy(n int64) {
	m.mu.Lock()
	m.n += n
	m.mu.Unlock()
}

// GetValueAndReset returns the count and sets it to 0.
func (m *CountMetric) GetValueAndReset() any {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.n
	m.n = 0
	return v
}

// MultiCountMetric is a CountMetric per key; its value maps each key seen
// (ever, as Storm's) to the key's count of the bucket.
type MultiCountMetric struct {
	mu     sync.Mutex
	counts map[string]*CountMetric
}

// Scope returns the counter of key, made the first time.
func (m *MultiCountMetric) Scope(key string) *CountMetric {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts == nil {
		m.counts = map[string]*CountMetric{}
	}
	c := m.counts[key]
	if c == nil {
		c = &CountMetric{}
		m.counts[key] = c
	}
	return c
}

// GetValueAndReset returns key → count (a map[string]any of int64).
func (m *MultiCountMetric) GetValueAndReset() any {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]any, len(m.counts))
	for k, c := range m.counts {
		out[k] = c.GetValueAndReset()
	}
	return out
}

// Reducer is Storm's IReducer: Init starts a bucket's accumulator, Reduce
// folds a value into it and ExtractResult gives the bucket's value.
type Reducer interface {
	Init() any
	Reduce(acc, value any) (any, error)
	ExtractResult(acc any) any
}

// MeanReducer averages numbers; a bucket without values has no value (nil,
// not reported), as Storm's.
type MeanReducer struct{}

type meanState struct {
	count int64
	sum   float64
}

// Init returns an empty mean.
func (MeanReducer) Init() any { return &meanState{} }

// Reduce adds a number (any Go integer or float) to the mean.
func (MeanReducer) Reduce(acc, value any) (any, error) {
	s := acc.(*meanState)
	f, ok := toFloat(value)
	if !ok {
		return acc, fmt.Errorf("MeanReducer: unsupported value %v of type %T: give a number", value, value)
	}
	s.count++
	s.sum += f
	return s, nil
}

// ExtractResult returns the mean as a float64, nil when nothing was added.
func (MeanReducer) ExtractResult(acc any) any {
	s := acc.(*meanState)
	if s.count == 0 {
		return nil
	}
	return s.sum / float64(s.count)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// ReducedMetric folds the values of a bucket with a Reducer
// (NewReducedMetric(MeanReducer{}) is Storm's mean metric).
type ReducedMetric struct {
	mu      sync.Mutex
	reducer Reducer
	acc     any
}

// NewReducedMetric returns a metric reduced by r.
func NewReducedMetric(r Reducer) *ReducedMetric {
	return &ReducedMetric{reducer: r, acc: r.Init()}
}

// Update folds v into the bucket.
func (m *ReducedMetric) Update(v any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	acc, err := m.reducer.Reduce(m.acc, v)
	if err == nil {
		m.acc = acc
	}
	return err
}

// GetValueAndReset returns the reducer's result and starts a new bucket.
func (m *ReducedMetric) GetValueAndReset() any {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.reducer.ExtractResult(m.acc)
	m.acc = m.reducer.Init()
	return v
}

// Combiner is Storm's ICombiner: Combine merges two values, Identity is
// the value of an empty bucket.
type Combiner interface {
	Identity() any
	Combine(a, b any) any
}

// CombinedMetric combines the values of a bucket with a Combiner.
type CombinedMetric struct {
	mu       sync.Mutex
	combiner Combiner
	value    any
}

// NewCombinedMetric returns a metric combined by c.
func NewCombinedMetric(c Combiner) *CombinedMetric {
	return &CombinedMetric{combiner: c, value: c.Identity()}
}

// Update combines v into the bucket's value.
func (m *CombinedMetric) Update(v any) {
	m.mu.Lock()
	m.value = m.combiner.Combine(m.value, v)
	m.mu.Unlock()
}

// GetValueAndReset returns the combined value and starts from the identity.
func (m *CombinedMetric) GetValueAndReset() any {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.value
	m.value = m.combiner.Identity()
	return v
}

// AssignableMetric reports the last value set; it is not reset.
type AssignableMetric struct {
	mu    sync.Mutex
	value any
}

// NewAssignableMetric returns a metric holding v.
func NewAssignableMetric(v any) *AssignableMetric { return &AssignableMetric{value: v} }

// SetValue replaces the value.
func (m *AssignableMetric) SetValue(v any) {
	m.mu.Lock()
	m.value = v
	m.mu.Unlock()
}

// GetValueAndReset returns the value, unchanged.
func (m *AssignableMetric) GetValueAndReset() any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.value
}

// The shell metrics, as Storm's org.apache.storm.metric.api.rpc.

// CountShellMetric is a CountMetric a subprocess updates: params null adds
// one, a number adds that number.
type CountShellMetric struct{ CountMetric }

// UpdateMetricFromRPC counts params.
func (m *CountShellMetric) UpdateMetricFromRPC(params any) error {
	if params == nil {
		m.Incr()
		return nil
	}
	f, ok := toFloat(params)
	if !ok {
		return errors.New("CountShellMetric updateMetricFromRPC params should be null or number")
	}
	m.IncrBy(int64(f))
	return nil
}

// ReducedShellMetric is a ReducedMetric a subprocess updates with a value.
type ReducedShellMetric struct{ *ReducedMetric }

// NewReducedShellMetric returns a shell metric reduced by r.
func NewReducedShellMetric(r Reducer) ReducedShellMetric {
	return ReducedShellMetric{NewReducedMetric(r)}
}

// UpdateMetricFromRPC folds params into the bucket.
func (m ReducedShellMetric) UpdateMetricFromRPC(params any) error { return m.Update(params) }

// CombinedShellMetric is a CombinedMetric a subprocess updates with a value.
type CombinedShellMetric struct{ *CombinedMetric }

// NewCombinedShellMetric returns a shell metric combined by c.
func NewCombinedShellMetric(c Combiner) CombinedShellMetric {
	return CombinedShellMetric{NewCombinedMetric(c)}
}

// UpdateMetricFromRPC combines params into the bucket's value.
func (m CombinedShellMetric) UpdateMetricFromRPC(params any) error {
	m.Update(params)
	return nil
}

// AssignableShellMetric is an AssignableMetric a subprocess sets.
type AssignableShellMetric struct{ AssignableMetric }

// UpdateMetricFromRPC sets the value to params.
func (m *AssignableShellMetric) UpdateMetricFromRPC(params any) error {
	m.SetValue(params)
	return nil
}

// DataPoint is one metric's value of one bucket (Storm's
// IMetricsConsumer.DataPoint).
type DataPoint struct {
	Name  string
	Value any
}

// TaskInfo says where and when data points were taken (Storm's
// IMetricsConsumer.TaskInfo): the worker, the task and its component, the
// time in seconds and the bucket's length.
type TaskInfo struct {
	SrcWorkerHost      string
	SrcWorkerPort      int
	SrcTaskID          int
	SrcComponentID     string
	Timestamp          int64 // unix seconds
	UpdateIntervalSecs int
}

// TaskMetrics are the metrics a task registered, by bucket size. The
// runtime gives one to each task's Context; registration is open until the
// task's Open or Prepare returned (Storm's rule).
type TaskMetrics struct {
	mu       sync.Mutex
	sealed   bool
	byName   map[string]Metric
	byBucket map[int][]namedMetric
}

type namedMetric struct {
	name   string
	metric Metric
}

// NewTaskMetrics returns an empty, open registry.
func NewTaskMetrics() *TaskMetrics {
	return &TaskMetrics{byName: map[string]Metric{}, byBucket: map[int][]namedMetric{}}
}

// Register adds m under name, taken every bucketSecs seconds.
func (r *TaskMetrics) Register(name string, m Metric, bucketSecs int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.sealed:
		return fmt.Errorf("register metric %q: metrics can only be registered from within Open (spouts) or Prepare (bolts)", name)
	case bucketSecs < 1:
		return fmt.Errorf("register metric %q: time bucket %d s: it must be at least 1 second", name, bucketSecs)
	case m == nil:
		return fmt.Errorf("register metric %q: the metric is nil", name)
	case name == "":
		return errors.New("register metric: the name is empty")
	}
	if _, dup := r.byName[name]; dup {
		return fmt.Errorf("register metric %q: the same metric name was registered twice", name)
	}
	r.byName[name] = m
	r.byBucket[bucketSecs] = append(r.byBucket[bucketSecs], namedMetric{name, m})
	return nil
}

// Seal closes registration (the runtime calls it after Open or Prepare).
func (r *TaskMetrics) Seal() {
	r.mu.Lock()
	r.sealed = true
	r.mu.Unlock()
}

// Metric returns the metric registered under name, nil if none (Storm's
// getRegisteredMetricByName).
func (r *TaskMetrics) Metric(name string) Metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byName[name]
}

// Names returns the names of the registered metrics, sorted.
func (r *TaskMetrics) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.byName))
}

// Buckets returns the sorted bucket sizes of the registered metrics.
func (r *TaskMetrics) Buckets() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.byBucket))
}

// Collect takes the value of every metric of bucket bucketSecs, in order of
// registration, leaving out nil values.
func (r *TaskMetrics) Collect(bucketSecs int) []DataPoint {
	r.mu.Lock()
	ms := r.byBucket[bucketSecs]
	r.mu.Unlock()
	var out []DataPoint
	for _, m := range ms {
		if v := m.metric.GetValueAndReset(); v != nil {
			out = append(out, DataPoint{Name: m.name, Value: v})
		}
	}
	return out
}

// RegisterMetric registers m under name on this task, taken every
// bucketSecs seconds, as Storm's TopologyContext.registerMetric; call it
// from Open or Prepare. It returns m, for
// `c.m = ctx.RegisterMetric(...)`-style use after checking err.
func (c *Context) RegisterMetric(name string, m Metric, bucketSecs int) (Metric, error) {
	if c.Metrics == nil {
		c.Metrics = NewTaskMetrics()
	}
	if err := c.Metrics.Register(name, m, bucketSecs); err != nil {
		return nil, err
	}
	return m, nil
}

// RegisteredMetric returns the metric this task registered under name, nil
// if none.
func (c *Context) RegisteredMetric(name string) Metric {
	if c.Metrics == nil {
		return nil
	}
	return c.Metrics.Metric(name)
}
