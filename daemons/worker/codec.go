package worker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync/atomic"

	"github.com/fxamacker/cbor/v2"

	"github.com/localstorm/localstorm/topology"
)

// The wire format between workers. A connection carries frames; a frame is a
// batch of tuples:
//
//	frame  = u32be payload-length, payload
//	payload = u32be tuple-count, tuple*
//	tuple  = uvarint dest-task, uvarint src-task, string stream,
//	         uvarint anchor-count, (u64le root, u64le edge)*,
//	         uvarint value-count, value*
//	value  = tag byte, data
//
// The common value types (nil, bool, string, []byte, the Go integer and float
// kinds) are encoded by hand, keeping their Go type across the wire so a bolt
// sees the same type whether its producer is local or remote; any other value
// is CBOR (github.com/fxamacker/cbor/v2) and decodes to CBOR's generic Go types.
// A hand-written codec because a tuple is small and CBOR's reflection costs
// more than the whole hand-written path (see docs/benchmarks.md, "Worker runtime").

// Decoding limits: bytes from the network are untrusted.
const (
	// MaxFrameBytes bounds one frame's payload.
	MaxFrameBytes = 16 << 20
	// MaxTupleValues bounds the values of one tuple.
	MaxTupleValues = 4096
	// MaxTupleAnchors bounds the anchors of one tuple.
	MaxTupleAnchors = 4096
	// maxStreamName bounds a stream id.
	maxStreamName = 1024
	// maxTaskID bounds task ids on the wire (a topology has far fewer tasks).
	maxTaskID = 1 << 30
)

// Value tags.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagString
	tagBytes
	tagInt
	tagInt64
	tagInt32
	tagUint64
	tagFloat64
	tagFloat32
	tagCBOR
)

// envelope is one tuple in flight to task Dest: the unit of routing inside a
// worker and of transfer between workers. The wire carries the tuple's Task
// (the emitting task), Stream, Anchors and Values; Component and Fields are
// derived from the task and stream where the tuple is delivered.
type envelope struct {
	Dest int
	topology.Tuple
}

// errFrame is wrapped by every decoding error.
var errFrame = errors.New("bad tuple frame")

// appendBatch appends the frame of tuples to dst and returns it. A tuple
// whose values cannot be encoded is left out; the first such error is
// returned with the frame of the others.
func appendBatch(dst []byte, tuples []envelope) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	var firstErr error
	count := 0
	for i := range tuples {
		mark := len(dst)
		var err error
		if dst, err = appendTuple(dst, &tuples[i]); err != nil {
			dst = dst[:mark]
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		count++
	}
	n := len(dst) - start - 4
	if n > MaxFrameBytes {
		return dst[:start], fmt.Errorf("encode tuple batch: frame of %d bytes exceeds the limit of %d", n, MaxFrameBytes)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(n))
	binary.BigEndian.PutUint32(dst[start+4:], uint32(count))
	return dst, firstErr
}

func appendTuple(dst []byte, t *envelope) ([]byte, error) {
	dst = binary.AppendUvarint(dst, uint64(t.Dest))
	dst = binary.AppendUvarint(dst, uint64(t.Task))
	dst = binary.AppendUvarint(dst, uint64(len(t.Stream)))
	dst = append(dst, t.Stream...)
	dst = binary.AppendUvarint(dst, uint64(len(t.Anchors)))
	for _, a := range t.Anchors {
		dst = binary.LittleEndian.AppendUint64(dst, a.Root)
		dst = binary.LittleEndian.AppendUint64(dst, a.Edge)
	}
	dst = binary.AppendUvarint(dst, uint64(len(t.Values)))
	for i, v := range t.Values {
		var err error
		if dst, err = appendValue(dst, v); err != nil {
			return dst, fmt.Errorf("encode value %d of a tuple on stream %q: %w", i, t.Stream, err)
		}
	}
	return dst, nil
}

func appendValue(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, tagNil), nil
	case bool:
		if x {
			return append(dst, tagTrue), nil
		}
		return append(dst, tagFalse), nil
	case string:
		dst = append(dst, tagString)
		dst = binary.AppendUvarint(dst, uint64(len(x)))
		return append(dst, x...), nil
	case []byte:
		dst = append(dst, tagBytes)
		dst = binary.AppendUvarint(dst, uint64(len(x)))
		return append(dst, x...), nil
	case int:
		return binary.AppendVarint(append(dst, tagInt), int64(x)), nil
	case int64:
		return binary.AppendVarint(append(dst, tagInt64), x), nil
	case int32:
		return binary.AppendVarint(append(dst, tagInt32), int64(x)), nil
	case uint64:
		return binary.AppendUvarint(append(dst, tagUint64), x), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(dst, tagFloat64), math.Float64bits(x)), nil
	case float32:
		return binary.LittleEndian.AppendUint32(append(dst, tagFloat32), math.Float32bits(x)), nil
	}
	b, err := cbor.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("value of type %T cannot be sent to another worker: %w", v, err)
	}
	dst = append(dst, tagCBOR)
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...), nil
}

// cborDecoder decodes CBOR values with limits on nesting and sizes.
var cborDecoder = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:  32,
		MaxArrayElements: 65536,
		MaxMapPairs:      65536,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	}.DecMode()
	if err != nil {
		panic(err) // the options above are constants
	}
	return dm
}()

// frameReader reads frames from a connection into buffers it recycles: a
// read takes whatever the connection has (up to a peer's coalesced write),
// and nothing decoded points into a buffer (see decoder.str), so a buffer
// is reused once every frame cut from it was decoded. Reading and decoding
// may run in two goroutines (server.receive): read hands out frames, decode
// takes them, each from one goroutine. Stream names are interned (a worker
// sees few distinct streams).
type frameReader struct {
	r          io.Reader
	cur        *frameBuf
	start, end int // cur.b[start:end] is read and not yet framed
	size       int // of a new buffer, unless a frame needs more
	minSize    int // bounds of size
	maxSize    int
	small      int            // reads in a row that used little of their buffer
	last       int            // bytes of the last frame, with its length
	free       chan *frameBuf // buffers every frame of which was decoded
	arenas     decodeArenas   // the decoder's, kept across frames
	streams    map[string]string
}

// frameBuf is a read buffer shared by the frames cut from it.
type frameBuf struct {
	b    []byte
	refs atomic.Int32 // frames not yet decoded, +1 while it is the reader's
}

// frame is one frame payload (without its length prefix) and its buffer.
type frame struct {
	p   []byte
	buf *frameBuf
}

// A frameReader's buffers start at minReadBuffer bytes and double, up to
// maxReadBuffer, each time a read fills a whole buffer (the connection has
// more waiting than a buffer holds) or a frame is more than a quarter of
// one: on a busy connection a read then takes up to 1 MiB, which measured
// 10-20% more tuples/s than 256 KiB between two workers. Many reads in a
// row that use little of a buffer halve the size again. A frame bigger
// than the largest buffer gets one of its own.
//
// readsAhead is how many reads server.receive lets its reader be ahead of
// decoding: with the one being decoded and the one being read into, the
// buffers of a busy connection, which the reader keeps for reuse (at most
// 6 MiB for a connection at full speed).
const (
	minReadBuffer = 64 << 10
	maxReadBuffer = 1 << 20
	readsAhead    = 4
)

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: r, size: minReadBuffer, minSize: minReadBuffer, maxSize: maxReadBuffer,
		free: make(chan *frameBuf, readsAhead+2), streams: make(map[string]string)}
}

// next reads one frame and appends its tuples to dst.
func (fr *frameReader) next(dst []envelope) ([]envelope, error) {
	f, err := fr.read()
	if err != nil {
		return dst, err
	}
	return fr.decode(dst, f)
}

// readAll reads at least one frame and appends it to dst, with every
// other frame whole in the buffer: one hand-off per read, not per frame.
func (fr *frameReader) readAll(dst []frame) ([]frame, error) {
	f, err := fr.read()
	if err != nil {
		return dst, err
	}
	dst = append(dst, f)
	for fr.end-fr.start >= 4 {
		n := int(binary.BigEndian.Uint32(fr.cur.b[fr.start:]))
		if n > MaxFrameBytes || fr.end-fr.start < 4+n {
			break
		}
		if f, err = fr.read(); err != nil {
			return dst, err
		}
		dst = append(dst, f)
	}
	return dst, nil
}

// read reads one frame.
func (fr *frameReader) read() (frame, error) {
	if err := fr.fill(4); err != nil {
		return frame{}, err
	}
	n := int(binary.BigEndian.Uint32(fr.cur.b[fr.start:]))
	if n > MaxFrameBytes {
		return frame{}, fmt.Errorf("%w: frame of %d bytes exceeds the limit of %d", errFrame, n, MaxFrameBytes)
	}
	fr.last = 4 + n
	for fr.size < min(4*fr.last, fr.maxSize) {
		fr.size *= 2 // a buffer holds a few frames
	}
	if err := fr.fill(4 + n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return frame{}, fmt.Errorf("read frame of %d bytes: %w", n, err)
	}
	f := frame{p: fr.cur.b[fr.start+4 : fr.start+4+n], buf: fr.cur}
	fr.cur.refs.Add(1)
	fr.start += 4 + n
	return f, nil
}

// decode appends the tuples of f to dst and releases its buffer.
func (fr *frameReader) decode(dst []envelope, f frame) ([]envelope, error) {
	d := decoder{p: f.p, streams: fr.streams, arenas: &fr.arenas}
	dst, err := d.batch(dst)
	fr.release(f.buf)
	return dst, err
}

// release drops one reference to b, recycling it after the last.
func (fr *frameReader) release(b *frameBuf) {
	if b.refs.Add(-1) != 0 || len(b.b) > fr.maxSize {
		return
	}
	select {
	case fr.free <- b:
	default:
	}
}

// fill reads until cur.b[start:end] holds at least n bytes, n being 4 (a
// frame's length) or a whole frame. When the buffer has no room for them,
// the bytes read so far move to another buffer. Reads are kept from ending
// inside a frame that will not fit: a frame like the last one (frames of a
// connection are mostly alike) does not start in a buffer too full for it,
// and a read stops at the end of the current frame when another would not
// fit after it. Without this, every buffer ended with a part of a frame
// to move: half a frame of copying per buffer, 13% of the bytes of 1 KiB
// tuples with 256 KiB buffers (5% of a receiving worker in perf).
func (fr *frameReader) fill(n int) error {
	if fr.cur != nil && fr.end-fr.start >= n {
		return nil
	}
	want := n // the bytes of the frame that starts at start, as far as known
	if n == 4 {
		want = max(n, fr.last)
	}
	if fr.cur == nil || len(fr.cur.b)-fr.start < want {
		var next *frameBuf
		if n <= fr.size {
			for next == nil {
				select {
				case next = <-fr.free:
					if len(next.b) != fr.size {
						next = nil // of another size: let it go
					}
				default:
					next = &frameBuf{b: make([]byte, fr.size)}
				}
			}
		} else {
			next = &frameBuf{b: make([]byte, n)}
		}
		next.refs.Store(1)
		if old := fr.cur; old != nil {
			fr.end = copy(next.b, old.b[fr.start:fr.end])
			fr.release(old)
		}
		fr.cur, fr.start = next, 0
	}
	limit := len(fr.cur.b)
	if limit-(fr.start+want) < fr.last {
		limit = min(limit, fr.start+want)
	}
	for fr.end-fr.start < n {
		k, err := fr.r.Read(fr.cur.b[fr.end:limit])
		fr.end += k
		fr.adapt(k, fr.end == len(fr.cur.b))
		if err != nil {
			if fr.end-fr.start >= n {
				return nil
			}
			if err == io.EOF && fr.end > fr.start {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// adapt sizes the next buffers after a read of k bytes (see minReadBuffer).
func (fr *frameReader) adapt(k int, filled bool) {
	switch {
	case filled:
		fr.size, fr.small = min(2*fr.size, fr.maxSize), 0
	case k < fr.size/16:
		if fr.small++; fr.small == 64 {
			fr.size, fr.small = max(fr.size/2, fr.minSize), 0
		}
	default:
		fr.small = 0
	}
}

// decodeBatch decodes one frame payload (without its length prefix),
// appending its tuples to dst. streams interns stream names; it may be nil.
func decodeBatch(dst []envelope, p []byte, streams map[string]string) ([]envelope, error) {
	d := decoder{p: p, streams: streams, arenas: &decodeArenas{}}
	return d.batch(dst)
}

func (d *decoder) batch(dst []envelope) ([]envelope, error) {
	p := d.p
	if len(p) < 4 {
		return dst, fmt.Errorf("%w: frame of %d bytes has no tuple count", errFrame, len(p))
	}
	count := uint64(binary.BigEndian.Uint32(p))
	d.p = p[4:]
	// Every tuple takes at least 5 bytes: a cheap bound before allocating.
	if count > uint64(len(d.p))/5 {
		d.fail("tuple count %d is more than the frame can hold", count)
	} else if dst == nil {
		dst = make([]envelope, 0, count)
	}
	for i := uint64(0); i < count && d.err == nil; i++ {
		dst = append(dst, envelope{})
		t := &dst[len(dst)-1]
		t.Dest = d.task()
		t.Task = d.task()
		t.Stream = d.stream()
		na := d.length(MaxTupleAnchors, 16, "anchors")
		if na > 0 {
			t.Anchors = d.anchors(na)
			for j := range t.Anchors {
				t.Anchors[j].Root = d.u64()
				t.Anchors[j].Edge = d.u64()
			}
		}
		nv := d.length(MaxTupleValues, 1, "values")
		if d.err == nil {
			t.Values = d.values(nv)
			for j := range t.Values {
				t.Values[j] = d.value()
			}
		}
	}
	if d.err == nil && len(d.p) != 0 {
		d.fail("%d bytes after the last tuple", len(d.p))
	}
	if d.err != nil {
		return dst, d.err
	}
	return dst, nil
}

// decoder reads one frame. Nothing it returns points into the frame, which
// its reader reuses. To spare an allocation per value, strings are copied
// into shared arenas and value slices cut from shared chunks, kept across
// the frames of a connection: a tuple kept by a bolt keeps those chunks
// alive, at most tens of KiB.
type decoder struct {
	p       []byte
	arenas  *decodeArenas
	err     error
	streams map[string]string
	stream0 string // the stream of the previous tuple
}

// decodeArenas hold the value and anchor slices a decoder cuts and the
// strings it copies out of frames: short strings in small chunks, longer
// ones in bigger chunks, still below the 32 KiB from which Go allocates by
// the page (slower), the longest in allocations of their own.
type decodeArenas struct {
	vals        topology.Values
	anchors     []topology.Anchor
	short, long stringArena
}

const (
	maxShortString = 256
	shortArena     = 8 << 10
	longArena      = 24 << 10
	maxLongString  = longArena / 4
)

func (a *decodeArenas) cut(b []byte) string {
	switch {
	case len(b) <= maxShortString:
		return a.short.cut(b, shortArena)
	case len(b) <= maxLongString:
		return a.long.cut(b, longArena)
	}
	return string(b)
}

// stringArena copies strings into chunks of memory and returns views of
// them. A strings.Builder is such a chunk: its memory is not zeroed first,
// and bytes written to it never change.
type stringArena struct{ chunk *strings.Builder }

func (a *stringArena) cut(b []byte, size int) string {
	if a.chunk == nil || a.chunk.Cap()-a.chunk.Len() < len(b) {
		a.chunk = new(strings.Builder)
		a.chunk.Grow(size)
	}
	off := a.chunk.Len()
	a.chunk.Write(b)
	return a.chunk.String()[off:]
}

// values returns a slice for n values.
func (d *decoder) values(n int) topology.Values {
	a := d.arenas
	if n > len(a.vals) {
		a.vals = make(topology.Values, max(n, 256))
	}
	v := a.vals[:n:n]
	a.vals = a.vals[n:]
	return v
}

// anchors returns a slice for n anchors.
func (d *decoder) anchors(n int) []topology.Anchor {
	a := d.arenas
	if n > len(a.anchors) {
		a.anchors = make([]topology.Anchor, max(n, 128))
	}
	v := a.anchors[:n:n]
	a.anchors = a.anchors[n:]
	return v
}

// str reads a string value.
func (d *decoder) str() string {
	b := d.bytes(MaxFrameBytes)
	if len(b) == 0 {
		return ""
	}
	return d.arenas.cut(b)
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errFrame, fmt.Sprintf(format, args...))
	}
	d.p = nil
}

// The readers of varints below have a fast path, small enough to be
// inlined, for a value in one byte (most task ids, lengths and counts); a
// failed decoder has no bytes left (fail), so it always takes the slow path.

func (d *decoder) uvarint() uint64 {
	if p := d.p; len(p) > 0 && p[0] < 0x80 {
		d.p = p[1:]
		return uint64(p[0])
	}
	return d.uvarintSlow()
}

func (d *decoder) uvarintSlow() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.fail("truncated or overlong varint")
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.p)
	if n <= 0 {
		d.fail("truncated or overlong varint")
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) task() int {
	if p := d.p; len(p) > 0 && p[0] < 0x80 {
		d.p = p[1:]
		return int(p[0])
	}
	return d.taskSlow()
}

func (d *decoder) taskSlow() int {
	v := d.uvarintSlow()
	if v > maxTaskID {
		d.fail("task id %d out of range", v)
		return 0
	}
	return int(v)
}

// length reads a count of items of at least minSize bytes each, bounded by
// limit and by the bytes left.
func (d *decoder) length(limit int, minSize int, what string) int {
	if p := d.p; len(p) > 0 {
		if v := int(p[0]); v < 0x80 && v <= limit && v*minSize < len(p) {
			d.p = p[1:]
			return v
		}
	}
	return d.lengthSlow(limit, minSize, what)
}

func (d *decoder) lengthSlow(limit int, minSize int, what string) int {
	v := d.uvarint()
	if d.err != nil {
		return 0
	}
	if v > uint64(limit) {
		d.fail("%d %s exceed the limit of %d", v, what, limit)
		return 0
	}
	if v*uint64(minSize) > uint64(len(d.p)) {
		d.fail("%d %s do not fit in the %d bytes left", v, what, len(d.p))
		return 0
	}
	return int(v)
}

func (d *decoder) bytes(limit int) []byte {
	n := d.length(limit, 1, "bytes")
	if d.err != nil {
		return nil
	}
	b := d.p[:n]
	d.p = d.p[n:]
	return b
}

func (d *decoder) stream() string {
	b := d.bytes(maxStreamName)
	if d.err != nil {
		return ""
	}
	if string(b) == d.stream0 {
		return d.stream0 // consecutive tuples mostly share their stream
	}
	if d.streams == nil {
		return string(b)
	}
	if s, ok := d.streams[string(b)]; ok {
		d.stream0 = s
		return s
	}
	s := string(b)
	if len(d.streams) < 1024 {
		d.streams[s] = s
	}
	d.stream0 = s
	return s
}

func (d *decoder) u64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.p) < 8 {
		d.fail("truncated 64-bit value")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.p)
	d.p = d.p[8:]
	return v
}

func (d *decoder) value() any {
	if d.err != nil {
		return nil
	}
	if len(d.p) == 0 {
		d.fail("truncated value")
		return nil
	}
	tag := d.p[0]
	d.p = d.p[1:]
	switch tag {
	case tagNil:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagString:
		return d.str()
	case tagBytes:
		return append([]byte(nil), d.bytes(MaxFrameBytes)...)
	case tagInt:
		return int(d.varint())
	case tagInt64:
		return d.varint()
	case tagInt32:
		v := d.varint()
		if v < math.MinInt32 || v > math.MaxInt32 {
			d.fail("int32 value %d out of range", v)
		}
		return int32(v)
	case tagUint64:
		return d.uvarint()
	case tagFloat64:
		return math.Float64frombits(d.u64())
	case tagFloat32:
		if len(d.p) < 4 {
			d.fail("truncated float32")
			return nil
		}
		v := math.Float32frombits(binary.LittleEndian.Uint32(d.p))
		d.p = d.p[4:]
		return v
	case tagCBOR:
		b := d.bytes(MaxFrameBytes)
		if d.err != nil {
			return nil
		}
		// A copy: what CBOR decodes must not point into the frame's
		// buffer, which is reused (CBOR's generic types copy today, but
		// that is not its promise).
		b = append([]byte(nil), b...)
		var v any
		if err := cborDecoder.Unmarshal(b, &v); err != nil {
			d.fail("CBOR value: %v", err)
			return nil
		}
		return v
	}
	d.fail("unknown value tag %d", tag)
	return nil
}
