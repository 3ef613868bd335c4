//go:build !linux && !darwin

package nimbus

import (
	"io/fs"
	"time"
)

// changeTime is unknown here; the caller falls back to the mtime.
func changeTime(fs.FileInfo) (time.Time, bool) { return time.Time{}, false }
