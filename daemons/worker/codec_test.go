package worker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/topology"
)

func sampleBatch() []envelope {
	return []envelope{
		{Dest: 3, Tuple: topology.Tuple{Task: 1, Stream: "default", Values: topology.Values{"word", 7, int64(-9), int32(5), uint64(math.MaxUint64), 1.5, float32(2.5), true, false, nil, []byte{1, 2}}}},
		{Dest: 4, Tuple: topology.Tuple{Task: 2, Stream: topology.AckInitStream, Anchors: []topology.Anchor{{Root: 11, Edge: 12}, {Root: 13, Edge: 14}}, Values: topology.Values{uint64(1), uint64(2), 3}}},
		{Dest: 5, Tuple: topology.Tuple{Task: 2, Stream: "maps", Values: topology.Values{map[string]any{"a": "b"}, []any{"x", uint64(1)}}}},
		{Dest: 6, Tuple: topology.Tuple{Task: 9, Stream: "empty"}},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	in := sampleBatch()
	frame, err := appendBatch(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	fr := newFrameReader(bytes.NewReader(frame))
	out, err := fr.next(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("decoded %d tuples, want %d", len(out), len(in))
	}
	for i := range in {
		want := in[i]
		got := out[i]
		if len(want.Values) == 0 {
			want.Values = topology.Values{}
		}
		// CBOR values come back as CBOR's generic types.
		if want.Stream == "maps" {
			want.Values = topology.Values{map[any]any{"a": "b"}, []any{"x", uint64(1)}}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("tuple %d:\n got %#v\nwant %#v", i, got, want)
		}
	}
}

func TestCodecSkipsUnencodableValue(t *testing.T) {
	in := []envelope{
		{Dest: 1, Tuple: topology.Tuple{Stream: "s", Values: topology.Values{make(chan int)}}},
		{Dest: 2, Tuple: topology.Tuple{Stream: "s", Values: topology.Values{"ok"}}},
	}
	frame, err := appendBatch(nil, in)
	if err == nil || !strings.Contains(err.Error(), "chan int") {
		t.Fatalf("err = %v, want one naming the type chan int", err)
	}
	out, err := decodeBatch(nil, frame[4:], nil)
	if err != nil || len(out) != 1 || out[0].Dest != 2 {
		t.Fatalf("decoded %v, %v; want only the encodable tuple", out, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := appendBatch(nil, sampleBatch()[:1])
	payload := good[4:]
	count := func(n uint32, rest []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, n)
		return append(b, rest...)
	}
	tooManyValues := count(1, append([]byte{1, 1, 1, 'x', 0}, binary.AppendUvarint(nil, MaxTupleValues+1)...))
	cases := []struct {
		name string
		p    []byte
		want string
	}{
		{"empty", nil, "no tuple count"},
		{"truncated", payload[:len(payload)-3], ""},
		{"trailing", append(append([]byte(nil), payload...), 0), "after the last tuple"},
		{"huge count", count(1<<31, payload[4:]), "more than the frame can hold"},
		{"too many values", tooManyValues, "exceed the limit"},
		{"bad tag", count(1, []byte{1, 1, 1, 'x', 0, 1, 99}), "unknown value tag 99"},
		{"overlong varint", count(1, bytes.Repeat([]byte{0xff}, 11)), "varint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeBatch(nil, c.p, nil)
			if err == nil {
				t.Fatal("decoded a bad frame")
			}
			if !errors.Is(err, errFrame) {
				t.Errorf("err %v does not wrap errFrame", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %q does not say %q", err, c.want)
			}
		})
	}
}

func TestFrameReaderRejectsHugeFrame(t *testing.T) {
	hdr := binary.BigEndian.AppendUint32(nil, MaxFrameBytes+1)
	_, err := newFrameReader(bytes.NewReader(hdr)).next(nil)
	if !errors.Is(err, errFrame) || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Fatalf("err = %v, want a frame size error", err)
	}
}

// FuzzDecodeBatch: no input makes the decoder panic or allocate beyond the
// frame's means, and whatever decodes re-encodes to an equal batch.
func FuzzDecodeBatch(f *testing.F) {
	frame, _ := appendBatch(nil, sampleBatch())
	f.Add(frame[4:])
	f.Add([]byte{0, 0, 0, 1, 1, 1, 1, 'x', 0, 1, tagCBOR, 2, 0xa1, 0x01})
	f.Fuzz(func(t *testing.T, p []byte) {
		out, err := decodeBatch(nil, p, map[string]string{})
		if err != nil {
			return
		}
		re, err := appendBatch(nil, out)
		if err != nil {
			t.Fatalf("re-encode of a decoded batch failed: %v", err)
		}
		again, err := decodeBatch(nil, re[4:], nil)
		if err != nil || len(again) != len(out) {
			t.Fatalf("decode of a re-encoded batch: %d tuples, %v; want %d", len(again), err, len(out))
		}
	})
}

// chunkReader returns its data in reads of at most the sizes of a cycle.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.data), max(1, r.sizes[r.i%len(r.sizes)]))
	r.i++
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// FuzzFrameReader: a stream of frames cut into reads of any sizes, read
// through small recycled buffers with the decoding up to lag frames behind
// the reading (as server.receive does), decodes as its frames do one by
// one, and no decoded tuple changes while later frames are read; no input
// makes the reader panic.
func FuzzFrameReader(f *testing.F) {
	// Strings of each kind (arena, long arena, own allocation), in
	// streams of frames that buffers of the given sizes hold two or three of,
	// so buffers are recycled while decoded tuples still live.
	for _, long := range []int{maxShortString, maxLongString, maxLongString + 1} {
		var stream []byte
		for i := 0; i < 5; i++ {
			stream, _ = appendBatch(stream, []envelope{
				{Dest: i, Tuple: topology.Tuple{Task: 1, Stream: "default", Values: topology.Values{"short", strings.Repeat("L", long), []byte{byte(i)}}}},
				{Dest: i, Tuple: topology.Tuple{Task: 2, Stream: "s", Values: topology.Values{strings.Repeat("m", 40*i)}}},
			})
		}
		f.Add(stream, []byte{3, 200, 1}, uint16(2*long+700), uint8(0))
		f.Add(stream, []byte{255}, uint16(3*long+1000), uint8(0))
		f.Add(stream, []byte{255}, uint16(3*long+1000), uint8(3))
		f.Add(stream[:len(stream)-7], []byte{17}, uint16(long), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data, sizes []byte, size uint16, lag uint8) {
		if len(sizes) == 0 {
			sizes = []byte{0}
		}
		cut := make([]int, len(sizes))
		for i, s := range sizes {
			cut[i] = int(s)
		}
		fr := newFrameReader(&chunkReader{data: data, sizes: cut})
		fr.size, fr.minSize, fr.maxSize = int(size)+4, int(size)+4, 4*(int(size)+4)
		var got []envelope
		var pending []frame // read, not yet decoded
		var err, derr error
		for derr == nil {
			if err == nil {
				pending, err = fr.readAll(pending)
			}
			for derr == nil && len(pending) > 0 && (len(pending) > int(lag%8) || err != nil) {
				got, derr = fr.decode(got, pending[0])
				pending = pending[1:]
			}
			if err != nil && len(pending) == 0 {
				break
			}
		}
		if derr != nil {
			err = derr
		}
		// The same stream, framed and decoded without the reader.
		var want []envelope
		rest := data
		for len(rest) >= 4 {
			n := int(binary.BigEndian.Uint32(rest))
			if n > MaxFrameBytes || len(rest) < 4+n {
				break
			}
			var derr error
			if want, derr = decodeBatch(want, rest[4:4+n], nil); derr != nil {
				break
			}
			rest = rest[4+n:]
		}
		if len(got) != len(want) {
			t.Fatalf("reader decoded %d tuples, want %d (stopped by %v)", len(got), len(want), err)
		}
		a, _ := appendBatch(nil, got)
		b, _ := appendBatch(nil, want)
		if !bytes.Equal(a, b) {
			t.Fatalf("tuples decoded by the reader differ from the frames' own")
		}
	})
}
