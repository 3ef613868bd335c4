package submit

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/topology/fluxgen"
)

// A package of `BIN storm-package` is a jar holding topology.yaml at its
// root and the topology binary under resources/, as `storm jar` takes it.
// localstorm runs it as Storm would: the jar's resources/ become the
// topology's resources (Storm's supervisor extracts them into the worker's
// code dir) and the YAML runs through the Flux runner, whose shell
// components run the binary's multilang mode.

// Jar submits a package jar.
func Jar(ctx context.Context, c *api.Client, jarPath string, opts Options) (string, error) {
	return fluxFromJar(ctx, c, jarPath, "", opts)
}

// fluxFromJar extracts the jar's resources/ with a Flux file (yamlPath, or
// the jar's own topology.yaml when "") into a temporary dir and submits it.
func fluxFromJar(ctx context.Context, c *api.Client, jarPath, yamlPath string, opts Options) (string, error) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return "", fmt.Errorf("submit %s: a Storm package carries a linux/amd64 binary, which cannot run on this %s/%s machine: submit the topology binary itself instead", jarPath, runtime.GOOS, runtime.GOARCH)
	}
	dir, err := os.MkdirTemp("", "localstorm-package-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := extractPackage(jarPath, dir, yamlPath == ""); err != nil {
		return "", fmt.Errorf("submit %s: %w", jarPath, err)
	}
	target := filepath.Join(dir, fluxgen.YAMLEntry)
	if yamlPath != "" {
		raw, err := os.ReadFile(yamlPath)
		if err != nil {
			return "", fmt.Errorf("submit %s: %w", yamlPath, err)
		}
		target = filepath.Join(dir, filepath.Base(yamlPath))
		if err := os.WriteFile(target, raw, 0o644); err != nil {
			return "", err
		}
	}
	return fluxFile(ctx, c, target, opts)
}

// extractPackage writes the jar's resources/ files into dir (and its
// topology.yaml when withYAML), refusing entries that would land outside.
func extractPackage(jarPath, dir string, withYAML bool) error {
	zr, err := zip.OpenReader(jarPath)
	if err != nil {
		return fmt.Errorf("open the jar: %w", err)
	}
	defer zr.Close()
	foundYAML := false
	for _, f := range zr.File {
		name := f.Name
		switch {
		case name == fluxgen.YAMLEntry:
			foundYAML = true
			if !withYAML {
				continue
			}
		case strings.HasPrefix(name, fluxgen.ResourcesDir+"/"):
			name = strings.TrimPrefix(name, fluxgen.ResourcesDir+"/")
		default:
			continue
		}
		if f.FileInfo().IsDir() || name == "" {
			continue
		}
		clean := path.Clean(name)
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("jar entry %q points outside the resources dir", f.Name)
		}
		if err := extractEntry(f, filepath.Join(dir, filepath.FromSlash(clean))); err != nil {
			return err
		}
	}
	if !foundYAML {
		return fmt.Errorf("not a package of `BIN storm-package`: no %s at the jar's root (a jar of Java classes runs on Storm itself)", fluxgen.YAMLEntry)
	}
	return nil
}

func extractEntry(f *zip.File, target string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("jar entry %s: %w", f.Name, err)
	}
	defer rc.Close()
	mode := f.Mode().Perm() | 0o600
	out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return fmt.Errorf("jar entry %s: %w", f.Name, err)
	}
	return out.Close()
}

// packageBeside finds the package jar next to a Flux file: a .jar in the
// same dir holding topology.yaml at its root ("" when there is none).
func packageBeside(yamlPath string) (string, error) {
	jars, _ := filepath.Glob(filepath.Join(filepath.Dir(yamlPath), "*.jar"))
	var found []string
	for _, j := range jars {
		zr, err := zip.OpenReader(j)
		if err != nil {
			continue
		}
		for _, f := range zr.File {
			if f.Name == fluxgen.YAMLEntry {
				found = append(found, j)
				break
			}
		}
		zr.Close()
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("several Storm packages next to %s (%s): keep one per directory, or submit the jar", yamlPath, strings.Join(found, ", "))
	}
}
