package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/cli"
)

// writeFile writes text to path, making its dir; it returns path.
func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A standalone daemon reads its configuration as Storm's do: Storm's
// defaults, the storm.yaml (--config FILE, else -c storm.conf.file=FILE,
// else ~/.storm/storm.yaml), then -c; storm.local.dir from any of them is
// its local dir unless --dir is given explicitly.
func TestDaemonConfigAsStormReadsIt(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := t.TempDir()
	flagFile := writeFile(t, filepath.Join(dir, "flag.yaml"), "storm.local.dir: /from-flag-file\nnimbus.seeds: [flag]\n")
	propFile := writeFile(t, filepath.Join(dir, "prop.yaml"), "storm.local.dir: /from-prop-file\n")

	read := func(args ...string) (config.Conf, error) {
		t.Helper()
		fs := newFlags(cli.Streams{Out: os.Stdout, Err: os.Stderr}, "supervisor", "")
		d := addDaemonFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		conf, _, _, err := d.config()
		return conf, err
	}
	localDir := func(want string, args ...string) {
		t.Helper()
		conf, err := read(args...)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if got, _ := conf.String(config.StormLocalDir); got != want {
			t.Errorf("%q: storm.local.dir %q, want %q", args, got, want)
		}
	}
	localDir("storm-local")
	writeFile(t, filepath.Join(home, ".storm", "storm.yaml"), "storm.local.dir: /from-home\nstorm.zookeeper.root: /home-root\n")
	localDir("/from-home")
	localDir("/from-prop-file", "-c", "storm.conf.file="+propFile)
	localDir("/from-flag-file", "--config", flagFile, "-c", "storm.conf.file="+propFile)
	localDir("/from-flag-file", "--storm-yaml", flagFile) // the former name
	localDir("/from-c", "--config", flagFile, "-c", "storm.local.dir=/from-c")
	localDir("/from-dir", "--config", flagFile, "-c", "storm.local.dir=/from-c", "--dir", "/from-dir")

	conf, err := read("--config", flagFile, "-c", "nimbus.seeds=[c]")
	if err != nil {
		t.Fatal(err)
	}
	if seeds, _ := conf.Strings(config.NimbusSeeds); len(seeds) != 1 || seeds[0] != "c" {
		t.Errorf("-c over the storm.yaml: nimbus.seeds %v, want [c]", seeds)
	}
	if root, _ := conf.String(config.StormZookeeperRoot); root != "/storm" {
		t.Errorf("with --config, ~/.storm/storm.yaml is not read; storm.zookeeper.root %q, want Storm's default /storm", root)
	}
	if _, set := conf[stormConfFileKey]; set {
		t.Errorf("storm.conf.file names the file to read, it is no key of the configuration")
	}

	// Storm's --config is a file; an override given to it is a usage error
	// that points at -c.
	_, err = read("--config", "topology.workers=2")
	var usage *cli.UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "-c topology.workers=2") {
		t.Errorf("--config KEY=VALUE: %v, want a usage error pointing at -c", err)
	}
	if _, err := read("--config", filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("a missing --config file: %v, want an error naming it", err)
	}
}

// `up` reads the storm.yaml as the daemons do: its keys reach nimbus's
// configuration, -c wins over it, and its storm.local.dir is the data dir
// (an explicit --dir would win), its ui.port the API's port.
func TestEndToEndUpReadsStormYAML(t *testing.T) {
	e := newEnv(t)
	e.stopRecorded()
	dataDir := filepath.Join(t.TempDir(), "data")
	uiPort := freePort(t)
	file := writeFile(t, filepath.Join(t.TempDir(), "storm.yaml"),
		"storm.local.dir: "+dataDir+"\ntopology.message.timeout.secs: 41\nnimbus.task.timeout.secs: 31\nui.port: "+strconv.Itoa(uiPort)+"\n")
	var d detachedCluster
	out, errs, code := e.run("up", "-d", "--cluster", "yaml", "--supervisors", "1", "--config", file,
		"-c", "nimbus.task.timeout.secs=32", "-c", "storm.zookeeper.retry.times=3", "-o", "json")
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil {
		t.Fatalf("up -d --config: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "config: read "+file) || strings.Count(errs, "accepted, not used by localstorm: storm.zookeeper.retry.times") != 1 {
		t.Errorf("up's stderr names neither the storm.yaml it read nor, once, the key it does not use:\n%s", errs)
	}
	defer e.ok("down", "--cluster", "yaml")
	if want := "http://127.0.0.1:" + strconv.Itoa(uiPort); d.API != want {
		t.Errorf("API at %s, want the storm.yaml's ui.port: %s", d.API, want)
	}
	if d.DataDir != dataDir {
		t.Errorf("data dir %q, want the storm.yaml's storm.local.dir %q", d.DataDir, dataDir)
	}
	if _, err := os.Stat(filepath.Join(dataDir, detachedLog)); err != nil {
		t.Errorf("the detached log is not in storm.local.dir: %v", err)
	}
	// A submission that sets a key localstorm does not use hears of it.
	yaml, _ := filepath.Abs("../../examples/flux/wordcount.yaml")
	if _, errs, code := e.run("submit", yaml, "--cluster", "yaml", "-c", "topology.transfer.batch.size=4"); code != 0 ||
		!strings.Contains(errs, "warning: accepted, not used by localstorm: topology.transfer.batch.size") {
		t.Errorf("submit -c topology.transfer.batch.size=4: exit %d, stderr %q; want the key reported", code, errs)
	}
	for key, want := range map[string]string{"topology.message.timeout.secs": "41", "nimbus.task.timeout.secs": "32"} {
		if out := e.ok("remoteconfvalue", key, "--cluster", "yaml"); out != key+": "+want+"\n" {
			t.Errorf("remoteconfvalue %s = %q, want %s", key, out, want)
		}
	}
}
