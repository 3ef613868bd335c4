// Package submit hands topologies to a running cluster's nimbus: a topology
// binary (built with topology/run.Main), a Flux YAML file, or a topology
// built in this program; and, on the worker's side, rebuilds what it shipped
// (WorkerTopology). It needs only the cluster's API client, so that it serves
// a cluster in this process and one started elsewhere alike.
package submit

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/flux"
)

// Configuration keys localstorm adds to a topology's stormconf.json so that a
// worker knows how to rebuild its topology.
const (
	// ConfFluxFile is the Flux YAML's path relative to the shipped resources.
	ConfFluxFile = "localstorm.flux.file"
	// ConfBuiltin names a topology built into the localstorm binary (the demo).
	ConfBuiltin = "localstorm.builtin"
	// ConfTestRun is the -test.run pattern that makes a test binary the worker
	// of a testkit topology.
	ConfTestRun = "localstorm.testkit.run"
)

// Options tune a submission.
type Options struct {
	// Name overrides the topology's own name.
	Name string
	// Conf is merged over the topology's configuration.
	Conf map[string]any
	// Inactive submits the topology INACTIVE.
	Inactive bool
	// Wait blocks until the topology is ACTIVE (or INACTIVE when Inactive)
	// and every executor has heartbeated.
	Wait bool
	// Env substitutes ${ENV-NAME} in Flux files (nil = the process environment).
	Env map[string]string
	// Exe is the binary whose worker mode runs a topology built in this
	// program (Topology): a topology binary, localstorm itself for a
	// builtin, a test binary under testkit; "" = this process's executable.
	Exe string
	// Upload hands the code to nimbus (nil = over HTTP with the client). A
	// cluster in this process passes its ImportCode, which links the file
	// into nimbus's inbox instead of copying it: that saves a test binary's
	// whole transfer at every testkit submission.
	Upload Uploader
	// Warn, when set, gets each of nimbus's remarks on the submission: the
	// keys it sets that localstorm accepts but does not use.
	Warn func(msg string)
}

// Uploader hands code to nimbus and returns its upload id; f is at its start
// and sum is its SHA-256.
type Uploader func(ctx context.Context, f *os.File, sum string) (string, error)

func (o Options) uploader(c *api.Client) Uploader {
	if o.Upload != nil {
		return o.Upload
	}
	return func(ctx context.Context, f *os.File, sum string) (string, error) { return c.Upload(ctx, f, sum) }
}

// name is the name to submit under: opts.Name, else the topology's own.
func (o Options) name(own string) string {
	if o.Name != "" {
		return o.Name
	}
	return own
}

// ErrNotTopology says a path is neither a topology binary nor a Flux file.
var ErrNotTopology = errors.New("neither a topology binary nor a Flux YAML file")

// Path submits a topology binary (built with topology/run.Main) or a Flux
// YAML file, whichever path is.
func Path(ctx context.Context, c *api.Client, path string, opts Options) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("submit %s: %w", path, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("submit %s: %w (it is a directory)", path, ErrNotTopology)
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".yaml" || ext == ".yml" {
		return Flux(ctx, c, path, opts)
	}
	if ext == ".jar" {
		return Jar(ctx, c, path, opts)
	}
	if f, err := elf.Open(path); err == nil {
		f.Close()
		if st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("submit %s: the binary is not executable: chmod +x it", path)
		}
		return Binary(ctx, c, path, opts)
	}
	return "", fmt.Errorf("submit %s: %w: give the path of a program built with topology/run.Main, a .yaml Flux file, or a .jar of `BIN storm-package`", path, ErrNotTopology)
}

// Description is what a topology binary's `describe` prints.
type Description = workercontract.Description

// Describe runs `BINARY describe` and decodes its answer.
func Describe(ctx context.Context, binary string) (*Description, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, workercontract.DescribeCommand)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s describe: %w: %s (is it a topology binary built with topology/run.Main?)", binary, err, strings.TrimSpace(lastLines(stderr.String(), 5)))
	}
	var d Description
	if err := json.Unmarshal(out, &d); err != nil || d.Definition == nil {
		return nil, fmt.Errorf("%s describe: not a topology description (is it a topology binary built with topology/run.Main?)", binary)
	}
	return &d, nil
}

// Binary submits a Go topology binary: its definition comes from its
// `describe` subcommand and the binary itself is the code workers run.
func Binary(ctx context.Context, c *api.Client, binary string, opts Options) (string, error) {
	d, err := Describe(ctx, binary)
	if err != nil {
		return "", fmt.Errorf("submit: %w", err)
	}
	return submitFile(ctx, c, binary, "binary", opts.name(d.Name), d.Definition, opts)
}

// Topology submits t, a topology built in this program; opts.Exe is the
// binary whose worker mode runs it, and opts.Conf tells that binary which
// topology to build (ConfBuiltin, ConfTestRun).
func Topology(ctx context.Context, c *api.Client, t *topology.Topology, opts Options) (string, error) {
	exe := opts.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", fmt.Errorf("submit %q: %w", opts.name(t.Definition.Name), err)
		}
	}
	return submitFile(ctx, c, exe, "binary", opts.name(t.Definition.Name), t.Definition, opts)
}

// Flux submits a Flux YAML topology: the YAML's directory is shipped as
// the topology's resources and localstorm's own worker runs it. A YAML
// written by `BIN storm-package` next to its jar is run with the jar's
// resources, as `storm jar` would.
func Flux(ctx context.Context, c *api.Client, yamlPath string, opts Options) (string, error) {
	jar, err := packageBeside(yamlPath)
	if err != nil {
		return "", fmt.Errorf("submit %s: %w", yamlPath, err)
	}
	if jar != "" {
		return fluxFromJar(ctx, c, jar, yamlPath, opts)
	}
	return fluxFile(ctx, c, yamlPath, opts)
}

func fluxFile(ctx context.Context, c *api.Client, yamlPath string, opts Options) (string, error) {
	env := opts.Env
	if env == nil {
		env = environ()
	}
	t, resolved, err := flux.Resolve(yamlPath, env)
	if err != nil {
		return "", fmt.Errorf("submit %s: %w", yamlPath, err)
	}
	name := opts.name(t.Definition.Name)
	if name == "" {
		return "", fmt.Errorf("submit %s: the Flux file has no name: add `name:` or pass --topology-name", yamlPath)
	}
	var buf bytes.Buffer
	// The resolved file is shipped, not the one on disk: workers do not
	// run in the submitting shell's environment.
	resolvedFile := map[string][]byte{filepath.Base(yamlPath): resolved}
	if err := tarGz(&buf, filepath.Dir(yamlPath), resolvedFile); err != nil {
		return "", fmt.Errorf("submit %s: pack resources: %w", yamlPath, err)
	}
	tmp, err := os.CreateTemp("", "localstorm-flux-*.tgz")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return "", err
	}
	tmp.Close()
	opts.Conf = merged(map[string]any{ConfFluxFile: filepath.Base(yamlPath)}, opts.Conf)
	return submitFile(ctx, c, tmp.Name(), "flux", name, t.Definition, opts)
}

func submitFile(ctx context.Context, c *api.Client, path, kind, name string, def *topology.Definition, opts Options) (string, error) {
	if name == "" {
		return "", fmt.Errorf("submit %s: the topology has no name: set Options.Name", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("submit %q: %w", name, err)
	}
	defer f.Close()
	sum, err := codeSHA256(f, kind == "binary")
	if err != nil {
		return "", fmt.Errorf("submit %q: checksum code: %w", name, err)
	}
	uploadID, err := opts.uploader(c)(ctx, f, sum)
	if err != nil {
		return "", fmt.Errorf("submit %q: upload code: %w", name, err)
	}
	req := api.SubmitRequest{Name: name, UploadID: uploadID, SHA256: sum, Kind: kind, Definition: def, Conf: merged(opts.Conf)}
	if opts.Inactive {
		req.InitialStatus = "INACTIVE"
	}
	reply, err := c.SubmitWithReply(ctx, req)
	if err != nil {
		return "", fmt.Errorf("submit %q: %w", name, err)
	}
	id := reply.TopologyID
	if opts.Warn != nil {
		for _, msg := range reply.NotUsed {
			opts.Warn(msg)
		}
	}
	if opts.Wait {
		if err := WaitRunning(ctx, c, id); err != nil {
			return id, fmt.Errorf("submit %q: %w", name, err)
		}
	}
	return id, nil
}

// WaitRunning polls nimbus until the topology has every executor placed on a
// worker that heartbeats.
func WaitRunning(ctx context.Context, c *api.Client, id string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		info, err := c.TopologyView(ctx, id, "", true) // every executor, ackers too
		if err == nil {
			up, total := countAlive(info)
			if total > 0 && up == total {
				return nil
			}
			last = fmt.Sprintf("%d of %d executors up, status %s", up, total, info.Status)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for topology %s to run: %w (last seen: %s)", id, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// codeSums remembers the checksums of binaries this process submitted, by
// file identity: testkit submits its own test binary (~18 MB, ~14 ms to hash)
// once per test. A file rewritten in place changes its size or mtime; one
// that somehow kept both would still be caught by nimbus, which checks the
// checksum of what it receives.
var codeSums sync.Map // codeFile → hex SHA-256

type codeFile struct {
	path  string
	dev   uint64
	ino   uint64
	size  int64
	mtime time.Time
}

func identify(f *os.File) (codeFile, error) {
	fi, err := f.Stat()
	if err != nil {
		return codeFile{}, err
	}
	id := codeFile{path: f.Name(), size: fi.Size(), mtime: fi.ModTime()}
	id.dev, id.ino = fileID(fi)
	return id, nil
}

// codeSHA256 returns the hex SHA-256 of f and leaves f at its start. With
// remember, the sum is kept for the next submit of the same, unchanged file.
func codeSHA256(f *os.File, remember bool) (string, error) {
	before, err := identify(f)
	if err != nil {
		return "", err
	}
	if sum, ok := codeSums.Load(before); ok && remember {
		return sum.(string), nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if after, err := identify(f); remember && err == nil && after == before {
		codeSums.Store(before, sum)
	}
	return sum, nil
}

// tarGz packs the regular files of dir, with the content of replace for the
// files it names by slash-separated relative path (symlinks to files are packed as the
// files they point to; dot-directories are skipped) into w.
func tarGz(w io.Writer, dir string, replace map[string][]byte) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if rel != "." && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		// Follow symlinks to files, so resources can be shared between examples.
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if content, ok := replace[hdr.Name]; ok {
			hdr.Size = int64(len(content))
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			_, err := tw.Write(content)
			return err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// merged is the union of confs, the later winning.
func merged(confs ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, c := range confs {
		maps.Copy(out, c)
	}
	return out
}

func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// countAlive counts the topology's executors and those whose heartbeats nimbus
// sees advancing.
func countAlive(info *api.TopologyInfo) (alive, total int) {
	var all []api.ExecutorSummary
	for _, s := range info.Spouts {
		all = append(all, s.ExecutorStats...)
	}
	for _, b := range info.Bolts {
		all = append(all, b.ExecutorStats...)
	}
	for _, e := range all {
		total++
		if e.Alive {
			alive++
		}
	}
	return alive, total
}
