package procs

import "testing"

func TestParseStat(t *testing.T) {
	fields := "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 20 21"
	tests := []struct {
		in      string
		ticks   uint64
		state   byte
		wantErr bool
	}{
		{"123 (sleep) " + fields, 4242, 'S', false},
		{"123 (a) (b) c) " + fields, 4242, 'S', false},
		{"123 (z) Z" + fields[1:], 4242, 'Z', false},
		{"123 sleep " + fields, 0, 0, true},
		{"123 (x) S 1 2", 0, 0, true},
		{"123 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 -1", 0, 0, true},
	}
	for _, tc := range tests {
		st, err := parseStat([]byte(tc.in))
		if (err != nil) != tc.wantErr || st.startTicks != tc.ticks || st.state != tc.state {
			t.Errorf("parseStat(%q) = %+v, %v; want ticks %d state %c err %v", tc.in, st, err, tc.ticks, tc.state, tc.wantErr)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("123 (sleep) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 20"))
	f.Add([]byte("1 ((a)) R"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseStat(data)
		if err != nil && st != (procStat{}) {
			t.Fatalf("error with a non-zero result %+v", st)
		}
	})
}
