package topology

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MetricsConsumerRegisterKey is Storm's topology.metrics.consumer.register:
// a list of {class, parallelism.hint, argument}.
const MetricsConsumerRegisterKey = "topology.metrics.consumer.register"

// LoggingMetricsConsumerClass is Storm's class name of the consumer that
// logs every data point to the worker's metrics log.
const LoggingMetricsConsumerClass = "org.apache.storm.metric.LoggingMetricsConsumer"

// MetricsConsumer is Storm's IMetricsConsumer: it receives the data points
// of one task and bucket at a time, from one goroutine.
type MetricsConsumer interface {
	HandleDataPoints(info TaskInfo, points []DataPoint)
	Cleanup()
}

// MetricsConsumerEnv is what the runtime gives a consumer it makes.
type MetricsConsumerEnv struct {
	Conf     map[string]any
	Argument any       // the registration's argument
	Log      io.Writer // the worker's metrics log
	Started  time.Time // when the worker started (the log's relative times)
}

// metricsConsumers maps a class name to its factory: Storm's logging
// consumer, and those a topology binary registers (RegisterMetricsConsumer).
var (
	metricsConsumersMu sync.RWMutex
	metricsConsumers   = map[string]func(MetricsConsumerEnv) (MetricsConsumer, error){
		LoggingMetricsConsumerClass: func(env MetricsConsumerEnv) (MetricsConsumer, error) {
			return &LoggingMetricsConsumer{Out: env.Log, Started: env.Started}, nil
		},
	}
)

// RegisterMetricsConsumer makes a consumer class of the topology binary's
// own, for topology.metrics.consumer.register; call it before Build (from
// an init function or main). The built topology's definition lists the
// classes registered (Definition.MetricsConsumers), so that nimbus accepts
// them at submit. Registering Storm's logging consumer's name is an error.
func RegisterMetricsConsumer(class string, factory func(MetricsConsumerEnv) (MetricsConsumer, error)) error {
	metricsConsumersMu.Lock()
	defer metricsConsumersMu.Unlock()
	switch {
	case class == "" || factory == nil:
		return fmt.Errorf("register metrics consumer %q: give a class name and a factory", class)
	case class == LoggingMetricsConsumerClass:
		return fmt.Errorf("register metrics consumer %q: that is Storm's logging consumer, which localstorm has", class)
	}
	metricsConsumers[class] = factory
	return nil
}

// registeredConsumerClasses returns the consumer classes the binary
// registered, sorted (nil when none).
func registeredConsumerClasses() []string {
	var out []string
	for _, c := range MetricsConsumerClasses() {
		if c != LoggingMetricsConsumerClass {
			out = append(out, c)
		}
	}
	return out
}

// MetricsConsumerClasses returns the consumer class names this process has.
func MetricsConsumerClasses() []string {
	metricsConsumersMu.RLock()
	defer metricsConsumersMu.RUnlock()
	return slices.Sorted(maps.Keys(metricsConsumers))
}

// MetricsConsumerRegistration is one entry of
// topology.metrics.consumer.register.
type MetricsConsumerRegistration struct {
	Class       string
	Parallelism int // parallelism.hint (default 1)
	Argument    any
}

// NewMetricsConsumer makes the consumer of a registration.
func NewMetricsConsumer(r MetricsConsumerRegistration, env MetricsConsumerEnv) (MetricsConsumer, error) {
	metricsConsumersMu.RLock()
	f := metricsConsumers[r.Class]
	metricsConsumersMu.RUnlock()
	if f == nil {
		return nil, unknownConsumer(r.Class, MetricsConsumerClasses())
	}
	env.Argument = r.Argument
	return f(env)
}

func unknownConsumer(class string, known []string) error {
	return fmt.Errorf("metrics consumer class %q is unknown: there are %s", class, strings.Join(known, ", "))
}

// MetricsConsumerRegistrations reads and checks
// topology.metrics.consumer.register of conf: a list of maps with a class
// this process has, a positive parallelism.hint and any argument. Nil when
// unset.
func MetricsConsumerRegistrations(conf map[string]any) ([]MetricsConsumerRegistration, error) {
	return metricsConsumerRegistrations(conf, MetricsConsumerClasses())
}

// ValidateMetricsConsumers checks topology.metrics.consumer.register of
// topoConf against Storm's logging consumer and the classes the topology's
// binary registered (d.MetricsConsumers), as nimbus does at submit.
func ValidateMetricsConsumers(d *Definition, topoConf map[string]any) error {
	known := []string{LoggingMetricsConsumerClass}
	if d != nil {
		known = append(known, d.MetricsConsumers...)
	}
	slices.Sort(known)
	_, err := metricsConsumerRegistrations(topoConf, slices.Compact(known))
	return err
}

func metricsConsumerRegistrations(conf map[string]any, known []string) ([]MetricsConsumerRegistration, error) {
	raw, ok := conf[MetricsConsumerRegisterKey]
	if !ok || raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: %T: give a list of {class, parallelism.hint, argument}", MetricsConsumerRegisterKey, raw)
	}
	out := make([]MetricsConsumerRegistration, 0, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: %T: give a map with class, parallelism.hint and argument", MetricsConsumerRegisterKey, i, item)
		}
		class, _ := m["class"].(string)
		if class == "" {
			return nil, fmt.Errorf("%s[%d]: no class: name one of %s", MetricsConsumerRegisterKey, i, strings.Join(known, ", "))
		}
		if !slices.Contains(known, class) {
			return nil, fmt.Errorf("%s[%d]: %w", MetricsConsumerRegisterKey, i, unknownConsumer(class, known))
		}
		r := MetricsConsumerRegistration{Class: class, Parallelism: 1, Argument: m["argument"]}
		if p, ok := m["parallelism.hint"]; ok && p != nil {
			n, err := toInt(p)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%s[%d]: parallelism.hint %v: give a positive integer", MetricsConsumerRegisterKey, i, p)
			}
			r.Parallelism = n
		}
		out = append(out, r)
	}
	return out, nil
}

// LoggingMetricsConsumer writes one line per data point in the format of
// Storm's LoggingMetricsConsumer under its log4j METRICS appender
// ("%d %-8r %m%n"): the date, the milliseconds since the worker started,
// then the timestamp, worker host:port, task:component, the metric's name
// padded or cut to 23 characters, and its value as Java prints it.
type LoggingMetricsConsumer struct {
	Out     io.Writer
	Started time.Time
	mu      sync.Mutex
	buf     []byte
}

// HandleDataPoints logs the points.
func (c *LoggingMetricsConsumer) HandleDataPoints(info TaskInfo, points []DataPoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	prefix := fmt.Sprintf("%s %-8d %d\t%15s:%-4d\t%3d:%-11s\t",
		now.Format("2006-01-02 15:04:05,000"), now.Sub(c.Started).Milliseconds(),
		info.Timestamp, info.SrcWorkerHost, info.SrcWorkerPort, info.SrcTaskID, info.SrcComponentID)
	c.buf = c.buf[:0]
	for _, p := range points {
		name := p.Name + strings.Repeat(" ", 23)
		c.buf = append(c.buf, prefix...)
		c.buf = append(c.buf, name[:23]...)
		c.buf = append(c.buf, '\t')
		c.buf = append(c.buf, JavaString(p.Value)...)
		c.buf = append(c.buf, '\n')
	}
	_, _ = c.Out.Write(c.buf)
}

// Cleanup does nothing: the runtime owns the log.
func (c *LoggingMetricsConsumer) Cleanup() {}

// JavaDouble formats f as Java's Double.toString does, which Storm's
// command-line tools and its metrics log print.
func JavaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}
