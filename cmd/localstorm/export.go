package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/internal/errlist"
	"github.com/localstorm/localstorm/internal/zkguard"
	"github.com/localstorm/localstorm/localcluster/registry"
)

const exportUsage = `Usage: localstorm export logs DIR|FILE.tar.gz [--cluster NAME] [--dir DATA_DIR]

Collects, for a CI job's artifacts: the cluster's own log (of up --detach), every
worker log, and from a running cluster the API's documents (cluster, supervisors,
each topology and its configuration, secrets redacted) and a dump of its ZooKeeper.
--dir DATA_DIR exports the logs of a stopped cluster from its data dir.
`

func runExport(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(s.Err, exportUsage)
		return cli.ErrHelp
	}
	if len(args) == 0 || args[0] != "logs" {
		return &cli.UsageError{Err: errors.New("export what? `localstorm export logs DIR`"), Usage: exportUsage}
	}
	fs := newFlags(s, "export logs", "DIR|FILE.tar.gz [--cluster NAME] [--dir DATA_DIR]")
	g.register(fs)
	dataDir := fs.String("dir", "", "the data dir of a stopped cluster (default: the running cluster's)")
	if err := cli.Parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("export logs needs exactly one DIR (or FILE.tar.gz) to write into")
	}
	dest := fs.Arg(0)
	if err := registry.ValidateName(g.cluster); err != nil {
		return cli.Usage(err)
	}

	var x exporter
	x.client, x.rec, x.findErr = g.client()
	if *dataDir != "" {
		x.dataDir = *dataDir
	} else if x.rec != nil {
		x.dataDir = x.rec.DataDir
	}
	if x.client == nil && x.dataDir == "" {
		if _, err := os.Stat(x.clusterLog(g.cluster)); err != nil {
			return fmt.Errorf("%w; to export a stopped cluster's logs give its data dir with --dir", x.findErr)
		}
	}

	outDir, archive := dest, strings.HasSuffix(dest, ".tar.gz") || strings.HasSuffix(dest, ".tgz")
	if archive {
		tmp, err := os.MkdirTemp("", "localstorm-export-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		outDir = tmp
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("export logs: %w", err)
	}
	n, problems := x.export(ctx, g.cluster, outDir)
	if archive {
		if err := tarGz(outDir, dest); err != nil {
			return fmt.Errorf("export logs: write %s: %w", dest, err)
		}
	}
	for _, p := range problems {
		fmt.Fprintf(s.Err, "warning: %v\n", p)
	}
	fmt.Fprintf(s.Out, "exported %d files to %s\n", n, dest)
	return nil
}

// exporter gathers what a CI job keeps when a step fails. Each part is
// best effort: a missing part is a warning, the others still come.
type exporter struct {
	client  *api.Client
	rec     *registry.Record
	findErr error
	dataDir string
	files   int
}

func (x *exporter) export(ctx context.Context, name, out string) (int, []error) {
	var problems []error
	add := func(what string, err error) {
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", what, err))
		}
	}
	if log := x.clusterLog(name); log != "" {
		if _, err := os.Stat(log); err == nil {
			add("cluster log", x.copyFile(log, filepath.Join(out, "cluster.log")))
		}
	}
	if x.rec != nil {
		add("cluster record", x.writeJSON(filepath.Join(out, "cluster.json"), x.rec))
	}
	if x.dataDir != "" {
		add("worker logs", x.copyWorkerLogs(out))
	}
	if x.client != nil {
		add("API documents", x.apiDocs(ctx, filepath.Join(out, "api")))
	}
	if x.rec != nil && x.rec.ZooKeeper != "" {
		add("ZooKeeper dump", x.zkDump(ctx, filepath.Join(out, "zookeeper.txt")))
	}
	return x.files, problems
}

// clusterLog is the log of the detached cluster called name: the one its
// record names, else the one in the data dir, else the one in the state dir.
func (x *exporter) clusterLog(name string) string {
	if x.rec != nil && x.rec.LogFile != "" {
		return x.rec.LogFile
	}
	if x.dataDir != "" {
		if p := filepath.Join(x.dataDir, detachedLog); fileExists(p) {
			return p
		}
	}
	return registry.LogPath(name)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// copyWorkerLogs copies every supervisor's logs dir (worker logs by
// topology and port), keeping the path under the data dir.
func (x *exporter) copyWorkerLogs(out string) error {
	roots, err := filepath.Glob(workercontract.DataDir(x.dataDir).WorkerLogRoots())
	if err != nil {
		return err
	}
	var errs []error
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			rel, err := filepath.Rel(x.dataDir, p)
			if err != nil {
				return err
			}
			return x.copyFile(p, filepath.Join(out, "workers", rel))
		})
		errs = append(errs, err)
	}
	return errlist.Join(errs...)
}

func (x *exporter) copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	x.files++
	return dst.Close()
}

func (x *exporter) writeJSON(to string, v any) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(to, append(b, '\n'), 0o644); err != nil {
		return err
	}
	x.files++
	return nil
}

// apiDocs writes the documents `-o json` prints: the cluster, its
// supervisors, nimbus's configuration and each topology's page and
// configuration, with Storm UI's field names.
func (x *exporter) apiDocs(ctx context.Context, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var errs []error
	doc := func(file string, get func() (any, error)) {
		v, err := get()
		if err == nil {
			err = x.writeJSON(filepath.Join(out, file), v)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
		}
	}
	c := x.client
	doc("cluster-summary.json", func() (any, error) { return c.ClusterSummary(ctx) })
	doc("supervisor-summary.json", func() (any, error) { return c.SupervisorSummary(ctx) })
	doc("nimbus-summary.json", func() (any, error) { return c.NimbusSummary(ctx) })
	doc("cluster-configuration.json", func() (any, error) {
		conf, err := c.ClusterConfiguration(ctx)
		return redact(conf), err
	})
	sum, err := c.TopologySummary(ctx)
	if err != nil {
		return errlist.Join(append(errs, err)...)
	}
	doc("topology-summary.json", func() (any, error) { return sum, nil })
	for _, t := range sum.Topologies {
		doc(path.Join("topologies", t.ID+".json"), func() (any, error) {
			info, err := c.TopologyView(ctx, t.ID, "", true)
			if info != nil {
				info.Configuration = redact(info.Configuration)
			}
			return info, err
		})
		doc(path.Join("topologies", t.ID+"-conf.json"), func() (any, error) {
			conf, err := c.TopologyConf(ctx, t.ID)
			return redact(conf), err
		})
	}
	return errlist.Join(errs...)
}

// secretKey matches the configuration keys whose values an export leaves
// out (Storm's passwords, tokens, credentials and secrets).
var secretKey = regexp.MustCompile(`(?i)(password|passwd|secret|token|credential|private)`)

// redact replaces the values of secret-looking keys, at any depth.
func redact(conf map[string]any) map[string]any {
	if conf == nil {
		return nil
	}
	out := make(map[string]any, len(conf))
	for k, v := range conf {
		switch {
		case secretKey.MatchString(k):
			out[k] = "<redacted>"
		default:
			if m, ok := v.(map[string]any); ok {
				v = redact(m)
			}
			out[k] = v
		}
	}
	return out
}

// zkDump writes every znode of the cluster's ZooKeeper (its records are
// JSON) as "path  value" lines, the /zookeeper tree left out, bounded.
func (x *exporter) zkDump(ctx context.Context, to string) error {
	const maxNodes, maxValue = 20000, 4096
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := zkguard.Connect(ctx, strings.Split(x.rec.ZooKeeper, ","), 10*time.Second, zkguard.Options{})
	if err != nil {
		return err
	}
	defer conn.Close()
	f, err := os.Create(to)
	if err != nil {
		return err
	}
	x.files++
	nodes := 0
	var walk func(p string) error
	walk = func(p string) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if nodes++; nodes > maxNodes {
			return fmt.Errorf("more than %d znodes: the dump stops there", maxNodes)
		}
		data, _, err := conn.Get(p)
		if errors.Is(err, zk.ErrNoNode) {
			return nil // removed while the walk ran
		}
		if err != nil {
			return fmt.Errorf("get %s: %w", p, err)
		}
		fmt.Fprintf(f, "%s\t%s\n", p, printable(data, maxValue))
		children, _, err := conn.Children(p)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("children of %s: %w", p, err)
		}
		for _, c := range children {
			child := path.Join(p, c)
			if child == "/zookeeper" {
				continue
			}
			if err := walk(child); err != nil {
				return err
			}
		}
		return nil
	}
	err = walk("/")
	return errlist.Join(err, f.Close())
}

// printable is data as text when it is UTF-8 (records are JSON), else its
// size; cut at max bytes.
func printable(data []byte, max int) string {
	if !utf8.Valid(data) {
		return fmt.Sprintf("<%d bytes of binary>", len(data))
	}
	s := strings.ReplaceAll(string(data), "\n", " ")
	if len(s) > max {
		s = s[:max] + "...(cut)"
	}
	return s
}

// tarGz writes the tree under dir into a gzipped tar at dest.
func tarGz(dir, dest string) error {
	f, err := os.Create(dest)
	if err != nil {
		return err
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	walkErr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	return errlist.Join(walkErr, tw.Close(), gz.Close(), f.Close())
}
