package topology

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMetricTypesResetPerBucket(t *testing.T) {
	c := &CountMetric{}
	c.Incr()
	c.IncrBy(4)
	if v := c.GetValueAndReset(); v != int64(5) {
		t.Errorf("count = %v, want 5", v)
	}
	if v := c.GetValueAndReset(); v != int64(0) {
		t.Errorf("count after reset = %v, want 0", v)
	}

	mc := &MultiCountMetric{}
	mc.Scope("a").Incr()
	mc.Scope("b").IncrBy(2)
	mc.Scope("a").Incr()
	got := mc.GetValueAndReset().(map[string]any)
	if got["a"] != int64(2) || got["b"] != int64(2) {
		t.Errorf("multi count = %v", got)
	}
	if got := mc.GetValueAndReset().(map[string]any); got["a"] != int64(0) || len(got) != 2 {
		t.Errorf("multi count after reset = %v, want the keys with 0", got)
	}

	mean := NewReducedMetric(MeanReducer{})
	if v := mean.GetValueAndReset(); v != nil {
		t.Errorf("empty mean = %v, want nil (not reported)", v)
	}
	for _, v := range []any{1, int64(2), 3.0} {
		if err := mean.Update(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := mean.Update("x"); err == nil {
		t.Error("a string was averaged")
	}
	if v := mean.GetValueAndReset(); v != 2.0 {
		t.Errorf("mean = %v, want 2", v)
	}

	sum := NewCombinedMetric(maxCombiner{})
	sum.Update(int64(3))
	sum.Update(int64(7))
	sum.Update(int64(5))
	if v := sum.GetValueAndReset(); v != int64(7) {
		t.Errorf("combined = %v, want 7", v)
	}
	if v := sum.GetValueAndReset(); v != int64(0) {
		t.Errorf("combined after reset = %v, want the identity", v)
	}

	a := NewAssignableMetric("x")
	a.SetValue("y")
	if a.GetValueAndReset() != "y" || a.GetValueAndReset() != "y" {
		t.Error("an assignable metric is not reset")
	}
}

type maxCombiner struct{}

func (maxCombiner) Identity() any { return int64(0) }
func (maxCombiner) Combine(a, b any) any {
	return max(a.(int64), b.(int64))
}

func TestShellMetricsUpdateFromRPC(t *testing.T) {
	c := &CountShellMetric{}
	for _, p := range []any{nil, 2.0, float64(3)} {
		if err := c.UpdateMetricFromRPC(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.UpdateMetricFromRPC("x"); err == nil {
		t.Error("a count took a string")
	}
	if v := c.GetValueAndReset(); v != int64(6) {
		t.Errorf("count = %v, want 6", v)
	}
	r := NewReducedShellMetric(MeanReducer{})
	_ = r.UpdateMetricFromRPC(2.0)
	_ = r.UpdateMetricFromRPC(4.0)
	if v := r.GetValueAndReset(); v != 3.0 {
		t.Errorf("mean = %v", v)
	}
	a := &AssignableShellMetric{}
	_ = a.UpdateMetricFromRPC("v")
	if a.GetValueAndReset() != "v" {
		t.Error("assignable shell metric not set")
	}
}

func TestRegisterMetricRules(t *testing.T) {
	ctx := &Context{}
	if _, err := ctx.RegisterMetric("m", &CountMetric{}, 0); err == nil || !strings.Contains(err.Error(), "at least 1 second") {
		t.Errorf("bucket 0: %v", err)
	}
	if _, err := ctx.RegisterMetric("m", &CountMetric{}, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := ctx.RegisterMetric("m", &CountMetric{}, 5); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate: %v", err)
	}
	if ctx.RegisteredMetric("m") == nil || ctx.RegisteredMetric("x") != nil {
		t.Error("RegisteredMetric")
	}
	ctx.Metrics.Seal()
	if _, err := ctx.RegisterMetric("late", &CountMetric{}, 5); err == nil || !strings.Contains(err.Error(), "Prepare") {
		t.Errorf("after prepare: %v", err)
	}
	if got := ctx.Metrics.Buckets(); len(got) != 1 || got[0] != 5 {
		t.Errorf("buckets = %v", got)
	}
}

func TestLoggingMetricsConsumerLine(t *testing.T) {
	var buf bytes.Buffer
	c := &LoggingMetricsConsumer{Out: &buf, Started: time.Now().Add(-1500 * time.Millisecond)}
	c.HandleDataPoints(TaskInfo{SrcWorkerHost: "127.0.0.1", SrcWorkerPort: 6700, SrcTaskID: 3, SrcComponentID: "split", Timestamp: 1700000000, UpdateIntervalSecs: 60},
		[]DataPoint{{Name: "__emit-count", Value: map[string]any{"default": int64(12)}}, {Name: "a-name-longer-than-twenty-three", Value: 0.5}})
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines: %q", lines)
	}
	// Storm's layout after log4j's "%d %-8r ": timestamp, host:port,
	// task:component, the name in 23 columns, the value.
	want := "1700000000\t      127.0.0.1:6700\t  3:split      \t__emit-count           \t{default=12}"
	if !strings.HasSuffix(lines[0], want) {
		t.Errorf("line %q\ndoes not end with %q", lines[0], want)
	}
	if !strings.HasSuffix(lines[1], "\ta-name-longer-than-twen\t0.5") {
		t.Errorf("a long name is not cut at 23: %q", lines[1])
	}
	if f := strings.Fields(lines[0]); len(f) < 3 || f[2] < "1500" || len(f[2]) != 4 {
		t.Errorf("relative ms field: %q", lines[0])
	}
}

func TestJavaString(t *testing.T) {
	for v, want := range map[any]string{
		int64(3): "3", 2.0: "2.0", 0.25: "0.25", 5.4e-4: "5.4E-4", 1.5e9: "1.5E9", nil: "null", "s": "s",
	} {
		if got := JavaString(v); got != want {
			t.Errorf("JavaString(%v) = %q, want %q", v, got, want)
		}
	}
	if got := JavaString(map[string]any{"b": int64(1), "a": []any{1, "x"}}); got != "{a=[1, x], b=1}" {
		t.Errorf("map: %q", got)
	}
}

func TestMetricsConsumerRegistrations(t *testing.T) {
	regs, err := MetricsConsumerRegistrations(map[string]any{MetricsConsumerRegisterKey: []any{
		map[string]any{"class": LoggingMetricsConsumerClass, "parallelism.hint": 2.0, "argument": "x"},
	}})
	if err != nil || len(regs) != 1 || regs[0].Parallelism != 2 || regs[0].Argument != "x" {
		t.Fatalf("regs %v, err %v", regs, err)
	}
	_, err = MetricsConsumerRegistrations(map[string]any{MetricsConsumerRegisterKey: []any{
		map[string]any{"class": "com.example.Graphite"},
	}})
	if err == nil || !strings.Contains(err.Error(), `"com.example.Graphite"`) || !strings.Contains(err.Error(), LoggingMetricsConsumerClass) {
		t.Errorf("unknown class: %v", err)
	}
	for _, bad := range []any{"x", []any{"x"}, []any{map[string]any{"class": LoggingMetricsConsumerClass, "parallelism.hint": 0}}} {
		if _, err := MetricsConsumerRegistrations(map[string]any{MetricsConsumerRegisterKey: bad}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestMetricsAreSafeForConcurrentUse(t *testing.T) {
	c := &CountMetric{}
	var wg sync.WaitGroup
	var total int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				c.Incr()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			total += c.GetValueAndReset().(int64)
			if total != 4000 {
				t.Errorf("counted %d, want 4000", total)
			}
			return
		default:
			total += c.GetValueAndReset().(int64)
		}
	}
}

type nopConsumer struct{}

func (nopConsumer) HandleDataPoints(TaskInfo, []DataPoint) {}
func (nopConsumer) Cleanup()                               {}

func TestRegisteredMetricsConsumerTravelsInTheDefinition(t *testing.T) {
	const class = "com.example.NopConsumer"
	conf := map[string]any{MetricsConsumerRegisterKey: []any{map[string]any{"class": class}}}
	if err := ValidateMetricsConsumers(&Definition{}, conf); err == nil || !strings.Contains(err.Error(), class) {
		t.Errorf("a class no binary registered: %v", err)
	}
	if err := RegisterMetricsConsumer(LoggingMetricsConsumerClass, func(MetricsConsumerEnv) (MetricsConsumer, error) { return nopConsumer{}, nil }); err == nil {
		t.Error("Storm's logging consumer was replaced")
	}
	if err := RegisterMetricsConsumer(class, func(MetricsConsumerEnv) (MetricsConsumer, error) { return nopConsumer{}, nil }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		metricsConsumersMu.Lock()
		delete(metricsConsumers, class)
		metricsConsumersMu.Unlock()
	})
	b := NewBuilder()
	b.SetSpout("s", func() Spout { return &testSpout{} }, 1)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(topo.Definition.MetricsConsumers, class) {
		t.Fatalf("definition's consumers %v lack %s", topo.Definition.MetricsConsumers, class)
	}
	// Nimbus knows the class from the definition alone.
	if err := ValidateMetricsConsumers(&Definition{MetricsConsumers: topo.Definition.MetricsConsumers}, conf); err != nil {
		t.Error(err)
	}
	regs, err := MetricsConsumerRegistrations(conf)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := NewMetricsConsumer(regs[0], MetricsConsumerEnv{}); err != nil || c == nil {
		t.Errorf("NewMetricsConsumer: %v", err)
	}
}
