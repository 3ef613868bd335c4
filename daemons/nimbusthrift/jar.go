package nimbusthrift

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// A submitted jar is a zip; its resources/ directory is what Storm's
// supervisor extracts for shell components to run in. Here it becomes the
// Flux resources archive (stormcode.tgz) that supervisors unpack, with the
// translated Flux file at its top.

// jarResources is the directory of a jar that holds shell components' files.
const jarResources = "resources/"

// Bounds on the resources of one jar (those of a supervisor's unpacking).
const (
	maxResourceBytes = 1 << 30
	maxResourceFiles = 10000
)

// packResources writes to w a gzipped tar of the files under resources/ in
// the jar (size bytes at jar; an empty upload has none) and of the Flux file
// fluxDoc, named FluxFileName.
func packResources(w io.Writer, jar io.ReaderAt, size int64, fluxDoc []byte) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	now := time.Now()
	if err := tw.WriteHeader(&tar.Header{Name: FluxFileName, Mode: 0o644, Size: int64(len(fluxDoc)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(fluxDoc); err != nil {
		return err
	}
	if size > 0 {
		if err := copyJarResources(tw, jar, size); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func copyJarResources(tw *tar.Writer, jar io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(jar, size)
	if err != nil {
		return invalid("the uploaded jar is not a zip archive (%v): upload a jar whose resources/ holds the shell components' files", err)
	}
	var files int
	var total int64
	for _, f := range zr.File {
		rel, ok := strings.CutPrefix(f.Name, jarResources)
		if !ok || rel == "" || strings.HasSuffix(rel, "/") {
			continue
		}
		clean := path.Clean(rel)
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return invalid("jar entry %s points outside resources/", f.Name)
		}
		if !strings.Contains(clean, "/") && (strings.HasSuffix(clean, ".yaml") || strings.HasSuffix(clean, ".yml")) {
			return invalid("jar entry %s: a YAML file at the top of resources/ is taken for a Flux topology here; move it into a subdirectory", f.Name)
		}
		if !f.Mode().IsRegular() {
			return invalid("jar entry %s: only regular files are unpacked from resources/", f.Name)
		}
		files++
		total += int64(f.UncompressedSize64)
		if files > maxResourceFiles || total > maxResourceBytes || f.UncompressedSize64 > maxResourceBytes {
			return invalid("the jar's resources/ holds more than %d files or %d bytes", maxResourceFiles, maxResourceBytes)
		}
		if err := copyEntry(tw, f, clean); err != nil {
			return fmt.Errorf("jar entry %s: %w", f.Name, err)
		}
	}
	return nil
}

func copyEntry(tw *tar.Writer, f *zip.File, name string) error {
	mode := int64(f.Mode().Perm()&0o755 | 0o644)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(f.UncompressedSize64), ModTime: f.Modified, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(tw, rc)
	return err
}
