package worker

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

// Benchmarks of docs/benchmarks.md, "Worker runtime". Each reports tuples/s as a
// custom metric; run them with a fixed -benchtime (e.g. 2000000x) so each
// is one measured run.
//
// The in-process benchmarks run with the GC target of a busy worker process
// (DefaultGCPercent, which TuneGC's tuner picks while a worker allocates
// fast; the tuner itself runs in Run's loop, which they do not), set by
// benchWorkerGC.

func benchWorkerGC(b *testing.B) {
	old := debug.SetGCPercent(DefaultGCPercent)
	b.Cleanup(func() { debug.SetGCPercent(old) })
}

// fastSpout emits the same small tuple on every NextTuple call, up to n,
// optionally tracked; onAck sees the message ids acked.
type fastSpout struct {
	n       int64
	tracked bool
	values  func(i int64) topology.Values
	emitted int64
	out     topology.SpoutCollector
	onAck   func(id any)
	pace    time.Duration // > 0: at most one tuple per pace
	next    time.Time
}

func (s *fastSpout) DeclareOutputFields(d topology.OutputDeclarer) { d.Declare(topology.Fields{"v"}) }
func (s *fastSpout) Open(_ *topology.Context, out topology.SpoutCollector) error {
	s.out = out
	return nil
}
func (s *fastSpout) Close()      {}
func (s *fastSpout) Activate()   {}
func (s *fastSpout) Deactivate() {}
func (s *fastSpout) NextTuple() {
	if s.emitted >= s.n {
		return
	}
	if s.pace > 0 {
		now := time.Now()
		if now.Before(s.next) {
			return
		}
		// Catch up after the executor's idle pauses (1 ms), not after
		// longer stalls.
		if s.next.IsZero() || now.Sub(s.next) > 100*time.Millisecond {
			s.next = now
		}
		s.next = s.next.Add(s.pace)
	}
	var id any
	if s.tracked {
		id = time.Now().UnixNano()
	}
	s.out.Emit(s.values(s.emitted), id)
	s.emitted++
}
func (s *fastSpout) Ack(id any) {
	if s.onAck != nil {
		s.onAck(id)
	}
}
func (s *fastSpout) Fail(any) {}

func constValues(topology.Values) func(int64) topology.Values {
	v := topology.Values{"tuple"}
	return func(int64) topology.Values { return v }
}

// BenchmarkIntraWorker: spout → shuffle → bolt inside one worker, unacked.
func BenchmarkIntraWorker(b *testing.B) {
	benchWorkerGC(b)
	var received atomic.Int64
	n := int64(b.N)
	bld := topology.NewBuilder()
	bld.SetSpout("s", func() topology.Spout { return &fastSpout{n: n, values: constValues(nil)} }, 1)
	bld.SetBolt("sink", func() topology.Bolt {
		return &funcBolt{fn: func(*topology.Tuple, topology.BoltCollector) { received.Add(1) }}
	}, 1).ShuffleGrouping("s")
	b.ResetTimer()
	start := time.Now()
	startInProcess(b, bld, config.Conf{config.TopologyAckerExecutors: 0})
	testutil.Eventually(b, 10*time.Minute, "every tuple received", func() bool { return received.Load() == n })
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)/el.Seconds(), "tuples/s")
}

// ackedWordCount is the acked topology of BenchmarkAckedWordCount and
// BenchmarkCompleteLatency: sentences of 3 words, split, fields-grouped
// count, one acker. onAck gets each complete latency.
func ackedWordCount(n int64, pace time.Duration, onAck func(time.Duration)) *topology.Builder {
	bld := topology.NewBuilder()
	sentences := []topology.Values{{"the cow jumped"}, {"over the moon"}, {"an apple a"}, {"day keeps the"}}
	bld.SetSpout("s", func() topology.Spout {
		return &fastSpout{n: n, tracked: true, pace: pace, values: func(i int64) topology.Values { return sentences[i%4] },
			onAck: func(id any) { onAck(time.Duration(time.Now().UnixNano() - id.(int64))) }}
	}, 1)
	bld.SetBolt("split", func() topology.Bolt { return &splitBolt{} }, 1).ShuffleGrouping("s")
	bld.SetBolt("count", func() topology.Bolt {
		counts := map[string]int{}
		return &funcBolt{fn: func(t *topology.Tuple, out topology.BoltCollector) {
			counts[t.String(0)]++
			out.Ack(t)
		}}
	}, 1).FieldsGrouping("split", topology.Fields{"word"})
	return bld
}

var ackedConf = config.Conf{config.TopologyAckerExecutors: 1, config.TopologyMaxSpoutPending: 2000}

// BenchmarkAckedWordCount reports spout tuples acked per second and the
// tuples per second behind them (each sentence is 4 tuples).
func BenchmarkAckedWordCount(b *testing.B) {
	benchWorkerGC(b)
	n := int64(b.N)
	rate := measureAckedPeak(b, n)
	b.ReportMetric(rate, "acked/s")
	b.ReportMetric(4*rate, "tuples/s")
}

func measureAckedPeak(b *testing.B, n int64) float64 { return measureAckedPeakConf(b, n, ackedConf) }

func measureAckedPeakConf(b *testing.B, n int64, conf config.Conf) float64 {
	var acked atomic.Int64
	start := time.Now()
	p := startInProcess(b, ackedWordCount(n, 0, func(time.Duration) { acked.Add(1) }), conf)
	testutil.Eventually(b, 10*time.Minute, "every tuple acked", func() bool { return acked.Load() == n })
	el := time.Since(start)
	p.stop()
	return float64(n) / el.Seconds()
}

// BenchmarkCompleteLatency measures the acked word count's peak rate, then
// runs it paced at half that rate and reports the complete latency (emit to
// ack, seen by the spout) at p50 and p99.
func BenchmarkCompleteLatency(b *testing.B) {
	benchWorkerGC(b)
	peak := measureAckedPeak(b, max(int64(b.N), 100_000))
	rate := peak / 2
	n := int64(b.N)
	var lat []time.Duration
	done := make(chan struct{})
	b.ResetTimer()
	p := startInProcess(b, ackedWordCount(n, time.Duration(float64(time.Second)/rate), func(d time.Duration) {
		lat = append(lat, d)
		if int64(len(lat)) == n {
			close(done)
		}
	}), ackedConf)
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatal("not every tuple acked")
	}
	b.StopTimer()
	p.stop()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(rate, "offered/s")
	b.ReportMetric(peak, "peak/s")
}

// BenchmarkRawFramedTCP: the loopback limit for the frames the workers
// exchange: the same frames (batches of 64 tuples of one string), written in
// coalesced chunks as the peers do and read with their length prefix, no
// tuple work on either side.
func BenchmarkRawFramedTCP(b *testing.B) {
	for _, size := range benchValueSizes {
		b.Run(fmt.Sprintf("value=%dB", size), func(b *testing.B) { benchRawFramedTCP(b, size) })
	}
}

// benchValueSizes are the tuple sizes (one string value of that many
// bytes) of BenchmarkInterWorker and BenchmarkRawFramedTCP.
var benchValueSizes = []int{16, 1024}

func benchRawFramedTCP(b *testing.B, size int) {
	const batch = 64
	tuples := make([]envelope, batch)
	for i := range tuples {
		tuples[i] = envelope{Dest: 2, Tuple: topology.Tuple{Task: 1, Stream: "default", Values: topology.Values{strings.Repeat("x", size)}}}
	}
	frame, err := appendBatch(nil, tuples)
	if err != nil {
		b.Fatal(err)
	}
	// Writes coalesce frames as the peers do.
	var chunk []byte
	for len(chunk)+len(frame) <= maxCoalesce {
		chunk = append(chunk, frame...)
	}
	framesPerChunk := len(chunk) / len(frame)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	frames := (b.N + batch - 1) / batch
	got := make(chan int, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- 0
			return
		}
		defer c.Close()
		r := bufio.NewReaderSize(c, 64<<10)
		n := 0
		var hdr [4]byte
		for n < frames {
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				break
			}
			size := int(hdr[0])<<24 | int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
			if _, err := r.Discard(size); err != nil {
				break
			}
			n++
		}
		got <- n
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < frames; sent += framesPerChunk {
		k := min(framesPerChunk, frames-sent)
		if _, err := c.Write(chunk[:k*len(frame)]); err != nil {
			b.Fatal(err)
		}
	}
	if n := <-got; n != frames {
		b.Fatalf("reader got %d frames, want %d", n, frames)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(frames*batch)/el.Seconds(), "tuples/s")
	b.ReportMetric(float64(frames*len(frame))/el.Seconds()/1e6, "MB/s")
}

// BenchmarkEncodeBatch and BenchmarkDecodeBatch: the codec alone.
func BenchmarkEncodeBatch(b *testing.B) {
	tuples := make([]envelope, 64)
	for i := range tuples {
		tuples[i] = envelope{Dest: 2, Tuple: topology.Tuple{Task: 1, Stream: "default", Values: topology.Values{"word", 42}}}
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendBatch(buf[:0], tuples)
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "tuples/s")
}

// BenchmarkDecodeBatch decodes as a connection does: successive frames
// with the arenas a connection keeps across them (frameReader.decode).
func BenchmarkDecodeBatch(b *testing.B) {
	tuples := make([]envelope, 64)
	for i := range tuples {
		tuples[i] = envelope{Dest: 2, Tuple: topology.Tuple{Task: 1, Stream: "default", Values: topology.Values{"word", 42}}}
	}
	encoded, _ := appendBatch(nil, tuples)
	fr := newFrameReader(nil)
	buf := &frameBuf{}
	b.ReportAllocs()
	for b.Loop() {
		buf.refs.Store(1)
		if _, err := fr.decode(nil, frame{p: encoded[4:], buf: buf}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "tuples/s")
}
