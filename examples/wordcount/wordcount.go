// Package wordcount is the classic Storm word count: a spout of sentences, a
// bolt that splits them into words, and a bolt that counts words, with the
// counts partitioned by a fields grouping on "word". Every sentence is a
// tracked tuple: a sentence whose tree fails or times out is replayed, so no
// sentence is lost when a worker dies.
//
// `localstorm up --demo` runs it; cmd/wordcount turns it into a topology binary.
package wordcount

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/localstorm/localstorm/topology"
)

// Sentences are what the spout emits, in rotation.
var Sentences = []string{
	"the cow jumped over the moon",
	"an apple a day keeps the doctor away",
	"four score and seven years ago",
	"snow white and the seven dwarfs",
	"i am at two with nature",
}

// Builder returns the word-count topology: sentences (1) → split (2) →
// count (2, fields grouping on word).
func Builder() *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("sentences", func() topology.Spout { return &SentenceSpout{} }, 1)
	b.SetBasicBolt("split", func() topology.BasicBolt { return &SplitBolt{} }, 2).
		ShuffleGrouping("sentences")
	b.SetBasicBolt("count", func() topology.BasicBolt { return NewCountBolt() }, 2).
		FieldsGrouping("split", topology.Fields{"word"})
	b.SetConf("topology.workers", 2)
	b.SetConf("topology.max.spout.pending", 1000)
	return b
}

// ConfLimit is the topology config key that stops each spout task after that
// many new sentences (0 or unset: forever).
const ConfLimit = "wordcount.sentences.limit"

// ConfRate is the topology config key that paces each spout task to that
// many new sentences per second (0 or unset: as fast as the topology takes
// them). `localstorm up --demo` sets it (--demo-rate).
const ConfRate = "wordcount.sentences.per.sec"

// SentenceSpout emits Sentences forever with message ids and replays the
// ones that fail. Limit > 0 (or ConfLimit) stops it after that many new
// sentences; Rate > 0 (or ConfRate) paces it to that many new sentences per
// second.
type SentenceSpout struct {
	Limit int
	Rate  float64
	// The pace of Rate: tokens refill at Rate per second; a burst of a
	// twentieth of a second's worth goes out at once (burstLeft), so that
	// the workers move tuples in batches rather than one per wake-up.
	tokens    float64
	burstLeft int
	last      time.Time
	out       topology.SpoutCollector
	next      int
	pending   map[int]string
	replay    []int
}

func (s *SentenceSpout) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"sentence"})
}

func (s *SentenceSpout) Open(ctx *topology.Context, out topology.SpoutCollector) error {
	s.out, s.pending = out, map[int]string{}
	if s.Limit == 0 && ctx.Conf[ConfLimit] != nil {
		n, ok := asInt(ctx.Conf[ConfLimit])
		if !ok || n < 0 {
			return fmt.Errorf("%s: %v is not a non-negative integer", ConfLimit, ctx.Conf[ConfLimit])
		}
		s.Limit = n
	}
	if s.Rate == 0 && ctx.Conf[ConfRate] != nil {
		n, ok := asInt(ctx.Conf[ConfRate])
		if !ok || n < 0 {
			return fmt.Errorf("%s: %v is not a non-negative integer", ConfRate, ctx.Conf[ConfRate])
		}
		s.Rate = float64(n)
	}
	s.last = time.Now()
	return nil
}

// paced tells whether the rate lets a new sentence out now (and takes its token).
func (s *SentenceSpout) paced() bool {
	if s.Rate <= 0 {
		return true
	}
	if s.burstLeft == 0 {
		burst := max(1, s.Rate/burstsPerSec)
		now := time.Now()
		// Tokens beyond one burst carry over (up to another), so that a
		// late wake-up does not lower the rate.
		s.tokens = min(s.tokens+now.Sub(s.last).Seconds()*s.Rate, 2*burst)
		s.last = now
		if s.tokens < burst {
			return false
		}
		s.tokens -= burst
		s.burstLeft = int(burst)
	}
	s.burstLeft--
	return true
}

// burstsPerSec is how many bursts a paced spout sends per second.
const burstsPerSec = 20

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case uint64:
		return int(n), true
	case float64:
		return int(n), n == float64(int(n))
	}
	return 0, false
}

func (s *SentenceSpout) NextTuple() {
	if len(s.replay) > 0 {
		id := s.replay[0]
		s.replay = s.replay[1:]
		s.out.Emit(topology.Values{s.pending[id]}, id)
		return
	}
	if (s.Limit > 0 && s.next >= s.Limit) || !s.paced() {
		return
	}
	id := s.next
	s.next++
	sentence := Sentences[id%len(Sentences)]
	s.pending[id] = sentence
	s.out.Emit(topology.Values{sentence}, id)
}

// Ready makes SentenceSpout a topology.ReadySpout, so that it costs
// nothing while it has nothing to emit: past its limit, only a fail (which
// reaches it anyway) brings a sentence; a paced spout has its next burst
// when its tokens refill.
func (s *SentenceSpout) Ready() <-chan struct{} {
	switch {
	case len(s.replay) > 0:
		return topology.ReadyAfter(0)
	case s.Limit > 0 && s.next >= s.Limit:
		return nil
	case s.Rate > 0 && s.burstLeft == 0:
		need := max(1, s.Rate/burstsPerSec) - s.tokens
		return topology.ReadyAfter(time.Until(s.last.Add(time.Duration(need / s.Rate * float64(time.Second)))))
	}
	return topology.ReadyAfter(0)
}

func (s *SentenceSpout) Ack(msgID any) { delete(s.pending, msgID.(int)) }

func (s *SentenceSpout) Fail(msgID any) { s.replay = append(s.replay, msgID.(int)) }

func (s *SentenceSpout) Close()      {}
func (s *SentenceSpout) Activate()   {}
func (s *SentenceSpout) Deactivate() {}

// SplitBolt splits a sentence into words.
type SplitBolt struct{}

func (SplitBolt) DeclareOutputFields(d topology.OutputDeclarer) { d.Declare(topology.Fields{"word"}) }
func (SplitBolt) Prepare(ctx *topology.Context) error           { return nil }
func (SplitBolt) Cleanup()                                      {}

func (SplitBolt) Execute(t *topology.Tuple, out topology.BasicCollector) error {
	for _, w := range strings.Fields(t.String(0)) {
		out.Emit(topology.Values{w})
	}
	return nil
}

// CountBolt counts words and emits the running count of each.
type CountBolt struct {
	mu     sync.Mutex
	counts map[string]int
}

// NewCountBolt returns an empty counter.
func NewCountBolt() *CountBolt { return &CountBolt{counts: map[string]int{}} }

func (c *CountBolt) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"word", "count"})
}
func (c *CountBolt) Prepare(ctx *topology.Context) error { return nil }
func (c *CountBolt) Cleanup()                            {}

func (c *CountBolt) Execute(t *topology.Tuple, out topology.BasicCollector) error {
	w, ok := t.Values[0].(string)
	if !ok {
		return fmt.Errorf("count: word is %T, not a string", t.Values[0])
	}
	c.mu.Lock()
	c.counts[w]++
	n := c.counts[w]
	c.mu.Unlock()
	out.Emit(topology.Values{w, n})
	return nil
}
