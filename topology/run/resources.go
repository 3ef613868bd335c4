package run

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/topology"
)

// MainWithResources is Main for a topology whose shell components need files
// (scripts, storm.py) at run time, as a Storm jar's resources/ directory: the
// files of resources are written into the worker's {code dir}/resources before
// the worker starts, and shell components run there.
func MainWithResources(name string, b *topology.Builder, resources fs.FS) {
	(&Env{Name: name, Builder: b, Streams: cli.StdStreams(), resources: resources}).program().Main()
}

// ExtractResources writes the files of fsys into dir, unless dir exists.
// Several workers may race on the same dir: each writes a private temporary
// dir and renames it into place; losing the race is not an error.
func ExtractResources(fsys fs.FS, dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".resources-*")
	if err != nil {
		return fmt.Errorf("extract resources: %w", err)
	}
	defer os.RemoveAll(tmp)
	err = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(tmp, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		src, err := fsys.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		dst, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		if err != nil {
			return err
		}
		if _, err := io.Copy(dst, src); err != nil {
			dst.Close()
			return err
		}
		return dst.Close()
	})
	if err != nil {
		return fmt.Errorf("extract resources: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr == nil {
			return nil // another worker won the race
		}
		if !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("extract resources: %w", err)
		}
	}
	return nil
}
