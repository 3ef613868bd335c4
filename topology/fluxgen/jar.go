package fluxgen

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// YAMLEntry is the Flux file's name at the root of a package jar (Flux runs
// it with --resource /topology.yaml; localstorm submit reads it from there).
const YAMLEntry = "topology.yaml"

// ResourcesDir is the jar directory Storm's supervisor extracts into the
// worker's code dir; shell components run there.
const ResourcesDir = "resources"

// File is one file of a package jar.
type File struct {
	Name string // slash-separated, relative to the jar's root
	Mode fs.FileMode
	Open func() (io.ReadCloser, error)
}

// WriteJar writes a jar (a zip with a manifest) holding the Flux YAML at
// its root and files.
func WriteJar(w io.Writer, yamlText []byte, files []File) error {
	zw := zip.NewWriter(w)
	// Binaries are large; the fastest deflate still halves them.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	stamp := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // reproducible jars
	add := func(name string, mode fs.FileMode, r io.Reader) error {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: stamp}
		h.SetMode(mode)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = io.Copy(fw, r)
		return err
	}
	manifest := "Manifest-Version: 1.0\r\nCreated-By: localstorm storm-package\r\n\r\n"
	if err := add("META-INF/MANIFEST.MF", 0o644, strings.NewReader(manifest)); err != nil {
		return fmt.Errorf("write jar: %w", err)
	}
	if err := add(YAMLEntry, 0o644, bytes.NewReader(yamlText)); err != nil {
		return fmt.Errorf("write jar: %w", err)
	}
	for _, f := range files {
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("write jar: %s: %w", f.Name, err)
		}
		err = add(path.Clean(f.Name), f.Mode, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("write jar: %s: %w", f.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write jar: %w", err)
	}
	return nil
}
