package run

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/fluxgen"
)

// stormPackage writes what `storm jar` needs to run this topology on Apache
// Storm: a Flux YAML of multilang components and a jar carrying the Linux
// build of this binary under resources/.
func stormPackage(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "storm-package", "[-o DIR|FILE.jar] [--binary LINUX_BINARY] [--main PACKAGE] [--drop-local-consumers]")
	out := fs.StringP("output", "o", env.Name+"-storm", "a directory (gets topology.yaml and NAME.jar) or a .jar path (the YAML goes next to it)")
	binary := fs.String("binary", "", "the linux/amd64 build of this binary to package (default: this binary on linux/amd64, else a cross-build)")
	mainPkg := fs.String("main", "", "with a cross-build: the main package to build (default: this binary's, from its build info)")
	dropLocal := fs.Bool("drop-local-consumers", false, "leave out of the package's config the metrics consumers implemented in Go (RegisterMetricsConsumer), which Storm cannot load, instead of refusing to package")
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	t, err := env.Topology()
	if err != nil {
		return fmt.Errorf("storm-package %q: %w", env.Name, err)
	}
	def := t.Definition
	if *dropLocal {
		var dropped []string
		if def, dropped = fluxgen.WithoutLocalConsumers(def); len(dropped) > 0 {
			fmt.Fprintf(env.Err, "storm-package: warning: metrics consumers %s are implemented in Go and left out of the package: on Storm, nothing consumes what they consumed here\n", strings.Join(dropped, ", "))
		}
	}
	if env.resources == nil {
		for _, comps := range []map[string]*topology.ComponentDef{def.Spouts, def.Bolts} {
			for id, c := range comps {
				if c.Shell != nil {
					return fmt.Errorf("storm-package: component %q runs %q, whose files the binary does not carry: build the binary with run.MainWithResources so that they are packaged under resources/", id, c.Shell.Command)
				}
			}
		}
	}
	jarPath, yamlPath := packagePaths(*out, env.Name)
	bin := binName(env.Name)
	yamlText, err := fluxgen.YAML(env.Name, bin, def)
	if err != nil {
		return err
	}
	exe, cleanup, err := linuxBinary(ctx, *binary, *mainPkg, runtime.GOOS, runtime.GOARCH)
	if err != nil {
		return fmt.Errorf("storm-package: %w", err)
	}
	defer cleanup()
	files := []fluxgen.File{{Name: fluxgen.ResourcesDir + "/" + bin, Mode: 0o755, Open: func() (io.ReadCloser, error) { return os.Open(exe) }}}
	if env.resources != nil {
		res, err := resourceFiles(env.resources)
		if err != nil {
			return fmt.Errorf("storm-package: %w", err)
		}
		files = append(files, res...)
	}
	if err := os.MkdirAll(filepath.Dir(jarPath), 0o755); err != nil {
		return fmt.Errorf("storm-package: %w", err)
	}
	if err := writeJarFile(jarPath, yamlText, files); err != nil {
		return fmt.Errorf("storm-package: %w", err)
	}
	if err := os.WriteFile(yamlPath, yamlText, 0o644); err != nil {
		return fmt.Errorf("storm-package: %w", err)
	}
	fmt.Fprintf(env.Out, "%s\n%s\n", jarPath, yamlPath)
	fmt.Fprintf(env.Err, "run it on Storm: storm jar %s org.apache.storm.flux.Flux --remote %s --artifacts \"org.apache.storm:flux-core:$STORM_VERSION,org.apache.storm:flux-wrappers:$STORM_VERSION\"\n", jarPath, yamlPath)
	return nil
}

// packagePaths are the jar and YAML written for -o out.
func packagePaths(out, name string) (jar, yaml string) {
	if strings.EqualFold(filepath.Ext(out), ".jar") {
		return out, strings.TrimSuffix(out, filepath.Ext(out)) + ".yaml"
	}
	return filepath.Join(out, binName(name)+".jar"), filepath.Join(out, fluxgen.YAMLEntry)
}

// binName is the file name of the binary inside resources/.
func binName(name string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, name)
	if clean == "" || strings.Trim(clean, ".") == "" {
		return "topology"
	}
	return clean
}

func writeJarFile(path string, yamlText []byte, files []fluxgen.File) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".storm-package-*.jar")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fluxgen.WriteJar(tmp, yamlText, files); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// linuxBinary returns the linux/amd64 build of this topology binary: the
// one given, this very binary when it is one, else a cross-build of its main
// package (GOOS=linux GOARCH=amd64 CGO_ENABLED=0) with the go tool.
func linuxBinary(ctx context.Context, given, mainPkg, goos, goarch string) (string, func(), error) {
	nothing := func() {}
	if given != "" {
		return given, nothing, nil
	}
	if goos == "linux" && goarch == "amd64" {
		exe, err := os.Executable()
		return exe, nothing, err
	}
	if mainPkg == "" {
		if info, ok := debug.ReadBuildInfo(); ok && info.Path != "" && info.Path != "command-line-arguments" {
			mainPkg = info.Path
		}
	}
	if mainPkg == "" {
		return "", nothing, fmt.Errorf("this binary is %s/%s and its main package is unknown: give --main PACKAGE (built with GOOS=linux GOARCH=amd64) or --binary LINUX_BINARY", goos, goarch)
	}
	dir, err := os.MkdirTemp("", "storm-package-*")
	if err != nil {
		return "", nothing, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	exe := filepath.Join(dir, "topology")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", exe, mainPkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nothing, fmt.Errorf("cross-build %s for linux/amd64: %w: %s (give --binary LINUX_BINARY to package a build of your own)", mainPkg, err, strings.TrimSpace(string(out)))
	}
	return exe, cleanup, nil
}

// resourceFiles are the files of MainWithResources's fs under resources/.
func resourceFiles(fsys fs.FS) ([]fluxgen.File, error) {
	var files []fluxgen.File
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files = append(files, fluxgen.File{Name: fluxgen.ResourcesDir + "/" + p, Mode: 0o755,
			Open: func() (io.ReadCloser, error) { return fsys.Open(p) }})
		return nil
	})
	return files, err
}
