package localcluster

import (
	"errors"
	"io/fs"
	"os"
)

// lockFile refuses: a cluster does not run on native Windows.
func lockFile(*os.File) error {
	return errors.New("a cluster cannot run on native Windows; run localstorm under WSL2")
}

// fileID is unknown on Windows; a file is then known by path, size and mtime.
func fileID(fs.FileInfo) (dev, ino uint64) { return 0, 0 }
