package nimbusthrift

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
)

// The frame decoder is github.com/apache/thrift's; what is this package's is
// the request path behind it: any bytes in a frame go through the generated
// processor into the handler (with a fake nimbus) and must come back as a
// reply, an exception or a closed connection, never a panic or a hang.
func FuzzRequest(f *testing.F) {
	call := func(method string, args ...byte) []byte {
		var b []byte
		b = binary.BigEndian.AppendUint32(b, uint32(thrift.VERSION_1)|uint32(thrift.CALL))
		b = binary.BigEndian.AppendUint32(b, uint32(len(method)))
		b = append(b, method...)
		b = binary.BigEndian.AppendUint32(b, 1)
		return append(append(b, args...), byte(thrift.STOP))
	}
	str := func(id int16, s string) []byte {
		b := []byte{byte(thrift.STRING)}
		b = binary.BigEndian.AppendUint16(b, uint16(id))
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		return append(b, s...)
	}
	f.Add(call("getClusterInfo"))
	f.Add(call("getTopologyInfo", str(1, fakeID)...))
	f.Add(call("getTopologyConf", str(1, "nope")[:5]...)) // a string cut short
	f.Add(call("killTopology", str(1, "wc")...))
	f.Add(call("rebalance", str(1, "wc")...))
	f.Add(call("uploadChunk", append(str(1, "x"), str(2, "chunk")...)...))
	f.Add(call("noSuchMethod"))
	f.Add([]byte{0x80, 0x01, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		h := NewHandler(newFake(), 6627, t.TempDir(), 1<<10)
		defer h.dropUploads()
		p := storm.NewNimbusProcessor(h)
		// The same request twice on one connection: the second shows whether
		// the first left the stream in step.
		var in []byte
		for range 2 {
			in = binary.BigEndian.AppendUint32(in, uint32(len(body)))
			in = append(in, body...)
		}
		buf := thrift.NewTMemoryBufferLen(len(in))
		buf.Write(in)
		conf := &thrift.TConfiguration{MaxFrameSize: 1 << 16}
		iprot := thrift.NewTBinaryProtocolConf(thrift.NewTFramedTransportConf(buf, conf), conf)
		oprot := thrift.NewTBinaryProtocolConf(thrift.NewTFramedTransportConf(thrift.NewTMemoryBuffer(), conf), conf)
		for range 2 {
			if ok, _ := p.Process(context.Background(), iprot, oprot); !ok {
				return
			}
		}
	})
}

// FuzzParseConfOverrides: rebalance's topology_conf_overrides comes from any
// Thrift client; it is a JSON object of keys or an InvalidTopologyException,
// never a panic.
func FuzzParseConfOverrides(f *testing.F) {
	for _, s := range []string{"", `{"topology.max.spout.pending": 7}`, "null", "[1]", `{"a": {"b": [1, "c"]}}`, "{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		conf, err := parseConfOverrides(&raw)
		var ite *storm.InvalidTopologyException
		if err != nil && !errors.As(err, &ite) {
			t.Fatalf("%q: error %T %v, want an InvalidTopologyException", raw, err, err)
		}
		if err == nil && strings.TrimSpace(raw) != "" && conf == nil {
			t.Fatalf("%q: no keys and no error", raw)
		}
	})
}
