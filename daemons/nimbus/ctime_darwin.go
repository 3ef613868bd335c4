package nimbus

import (
	"io/fs"
	"syscall"
	"time"
)

// changeTime is info's status change time (st_ctimespec).
func changeTime(info fs.FileInfo) (time.Time, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(st.Ctimespec.Unix()), true
}
