package localcluster

import (
	"errors"
	"os"
)

// lockFile refuses: a cluster does not run on native Windows.
func lockFile(*os.File) error {
	return errors.New("a cluster cannot run on native Windows; run localstorm under WSL2")
}
