package procs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

func selfUsage() Usage {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return Usage{}
	}
	u, err := parseUsage(data, int64(os.Getpagesize()))
	if err != nil {
		return Usage{}
	}
	return u
}

// parseUsage reads utime and stime (fields 14 and 15, in clock ticks) and
// rss (field 24, in pages) from the contents of /proc/<pid>/stat.
func parseUsage(data []byte, pageSize int64) (Usage, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return Usage{}, errors.New("parse /proc stat: no command name")
	}
	fields := bytes.Fields(data[end+1:])
	// fields[0] is field 3: field k is fields[k-3].
	if len(fields) < 22 {
		return Usage{}, fmt.Errorf("parse /proc stat: %d fields after the command name, want at least 22", len(fields))
	}
	var v [3]int64
	for i, k := range []int{14, 15, 24} {
		n, err := strconv.ParseInt(string(fields[k-3]), 10, 64)
		if err != nil {
			return Usage{}, fmt.Errorf("parse /proc stat field %d: %w", k, err)
		}
		v[i] = n
	}
	return Usage{CPUMillis: (v[0] + v[1]) * 1000 / clockTicks, RSSBytes: v[2] * pageSize}, nil
}
