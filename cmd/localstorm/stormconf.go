package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/cli"
)

// stormConfFileKey names the storm.yaml to read, as Storm's system property
// of that name does; here given as -c storm.conf.file=PATH.
const stormConfFileKey = "storm.conf.file"

// stormConfFlags are the configuration flags of Storm's `storm` command,
// which up, nimbus, supervisor and localconfvalue share: --config FILE, the
// storm.yaml (Storm's -Dstorm.conf.file), and -c KEY=VALUE overrides
// (storm.options), whose long name is Storm's --storm-config-opts.
type stormConfFlags struct {
	file      *string
	overrides *[]string
}

func addStormConfFlags(fs *pflag.FlagSet) *stormConfFlags {
	return &stormConfFlags{
		file: fs.String("config", "", "the storm.yaml to read (default: -c storm.conf.file=PATH, else ~/.storm/storm.yaml if it exists)"),
		overrides: fs.StringArrayP("storm-config-opts", "c", nil,
			"config override KEY=VALUE (the value parsed as YAML), over the storm.yaml; repeatable"),
	}
}

// stormConf is a configuration as Storm's client reads it, before Storm's
// defaults: the storm.yaml's keys (File names it, "" when none was read)
// with the -c overrides on top.
type stormConf struct {
	Conf config.Conf
	File string
}

// load reads the storm.yaml (see stormYAMLPath) and applies the overrides.
func (f *stormConfFlags) load() (stormConf, error) {
	if strings.Contains(*f.file, "=") {
		if _, err := os.Stat(*f.file); err != nil {
			return stormConf{}, cli.Usagef("--config %q: --config names a storm.yaml FILE, as Storm's `storm --config`; give a KEY=VALUE override with -c %s", *f.file, *f.file)
		}
	}
	over, err := cli.Overrides(*f.overrides)
	if err != nil {
		return stormConf{}, err
	}
	path, err := stormYAMLPath(*f.file, over)
	if err != nil {
		return stormConf{}, err
	}
	delete(over, stormConfFileKey) // a JVM system property in Storm, not a key of the configuration
	conf := config.Conf{}
	if path != "" {
		if conf, err = config.ReadYAML(path); err != nil {
			return stormConf{}, err
		}
	}
	return stormConf{Conf: conf.Merge(over), File: path}, nil
}

// stormYAMLPath finds the storm.yaml Storm's client would read: --config
// FILE, else storm.conf.file, else ~/.storm/storm.yaml when it exists ("" =
// none). A file named explicitly must exist.
func stormYAMLPath(flagPath string, overrides config.Conf) (string, error) {
	if flagPath != "" {
		return flagPath, nil
	}
	if v, ok := overrides[stormConfFileKey]; ok && v != nil {
		p, ok := v.(string)
		if !ok || p == "" {
			return "", cli.Usagef("-c %s: give a file path", stormConfFileKey)
		}
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", nil
	}
	p := filepath.Join(home, ".storm", "storm.yaml")
	if _, err := os.Stat(p); err != nil {
		return "", nil
	}
	return p, nil
}

// warnNotUsed says on w, once each, which keys of the storm.yaml and -c
// localstorm accepts but does not use (as nimbus says at submit).
func (c stormConf) warnNotUsed(w io.Writer) {
	for _, key := range config.NotUsed(c.Conf) {
		fmt.Fprintln(w, "warning:", config.NotUsedMessage(key))
	}
}

// readFrom says, for a daemon's log, which storm.yaml was read.
func (c stormConf) readFrom() string {
	if c.File == "" {
		return "config: no storm.yaml (none given with --config or storm.conf.file, and no ~/.storm/storm.yaml): Storm's defaults and -c"
	}
	return fmt.Sprintf("config: read %s, then -c", c.File)
}
