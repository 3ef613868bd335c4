package procs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// inspect reads pid's state and start time from /proc/<pid>/stat.
func inspect(pid int) (procState, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procState{}, err
	}
	st, err := parseStat(data)
	if err != nil {
		return procState{}, err
	}
	return procState{start: st.startTicks, zombie: st.state == 'Z' || st.state == 'X'}, nil
}

type procStat struct {
	state      byte
	startTicks uint64
}

// parseStat reads the state (field 3) and start time (field 22) from the
// contents of /proc/<pid>/stat. The command name (field 2) is in parentheses
// and may itself hold spaces and parentheses, so fields are counted after the
// last ')'.
func parseStat(data []byte) (procStat, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return procStat{}, errors.New("parse /proc stat: no command name")
	}
	fields := bytes.Fields(data[end+1:])
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("parse /proc stat: %d fields after the command name, want at least 20", len(fields))
	}
	ticks, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("parse /proc stat start time: %w", err)
	}
	return procStat{state: fields[0][0], startTicks: ticks}, nil
}
