package submit

import "io/fs"

// fileID is unknown on Windows; a file is then known by path, size and mtime.
func fileID(fs.FileInfo) (dev, ino uint64) { return 0, 0 }
