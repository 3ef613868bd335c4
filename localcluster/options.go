// Package localcluster boots a whole Storm cluster in one process: a ZooKeeper
// (embedded, in a container, or external), nimbus and several supervisors whose
// workers are real subprocesses. It is what `localstorm up` and testkit run.
package localcluster

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
)

// ZooKeeperMode says where the cluster's ZooKeeper comes from.
type ZooKeeperMode string

const (
	// ZooKeeperEmbedded runs the pure-Go server in this process (the default).
	ZooKeeperEmbedded ZooKeeperMode = "embedded"
	// ZooKeeperContainer runs a real ZooKeeper image with Docker.
	ZooKeeperContainer ZooKeeperMode = "container"
	// ZooKeeperExternal connects to an ensemble that is already running.
	ZooKeeperExternal ZooKeeperMode = "external"
)

// DefaultContainerImage is the image of container mode unless
// LOCALSTORM_ZOOKEEPER_IMAGE or ZooKeeperOptions.Image says otherwise.
const DefaultContainerImage = "zookeeper:3.9"

// ZooKeeperOptions choose and tune the cluster's ZooKeeper.
type ZooKeeperOptions struct {
	Mode ZooKeeperMode // "" = embedded
	// Image is the container mode's image ("" = LOCALSTORM_ZOOKEEPER_IMAGE or zookeeper:3.9).
	Image string
	// Servers is the external mode's connect string, "host:port[,host:port...]".
	Servers []string
	// TickTime of the embedded server; 0 = 500 ms, short enough that a lost
	// daemon's session expires within a few seconds on a laptop.
	TickTime time.Duration
	// Addr of the embedded server; "" = 127.0.0.1:0.
	Addr string
	// NoFsync makes the embedded server leave flushing its transaction log
	// to the OS (ZooKeeper's forceSync=no) instead of fsyncing before each
	// acknowledgement. For throwaway clusters (testkit): a restart of the
	// process still finds every write, only a machine crash may lose some.
	NoFsync bool
}

// ParseZooKeeperFlag reads the CLI's --zookeeper value:
// "embedded", "container", "container=IMAGE" or "host:port[,host:port...]".
func ParseZooKeeperFlag(v string) (ZooKeeperOptions, error) {
	switch {
	case v == "" || v == string(ZooKeeperEmbedded):
		return ZooKeeperOptions{Mode: ZooKeeperEmbedded}, nil
	case v == string(ZooKeeperContainer):
		return ZooKeeperOptions{Mode: ZooKeeperContainer}, nil
	case strings.HasPrefix(v, string(ZooKeeperContainer)+"="):
		img := strings.TrimPrefix(v, string(ZooKeeperContainer)+"=")
		if img == "" {
			return ZooKeeperOptions{}, fmt.Errorf("--zookeeper container=IMAGE: the image name is empty")
		}
		return ZooKeeperOptions{Mode: ZooKeeperContainer, Image: img}, nil
	}
	var servers []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, ":") {
			return ZooKeeperOptions{}, fmt.Errorf("--zookeeper %q: expected embedded, container[=IMAGE] or host:port[,host:port...]", v)
		}
		servers = append(servers, s)
	}
	if len(servers) == 0 {
		return ZooKeeperOptions{}, fmt.Errorf("--zookeeper %q: expected embedded, container[=IMAGE] or host:port[,host:port...]", v)
	}
	return ZooKeeperOptions{Mode: ZooKeeperExternal, Servers: servers}, nil
}

func (z ZooKeeperOptions) image() string {
	if z.Image != "" {
		return z.Image
	}
	if img := os.Getenv("LOCALSTORM_ZOOKEEPER_IMAGE"); img != "" {
		return img
	}
	return DefaultContainerImage
}

// Options configure a local cluster. The zero value is a useful cluster:
// embedded ZooKeeper, 3 supervisors of 4 slots, a temporary data dir, the API
// on a free loopback port.
type Options struct {
	// Name identifies the cluster (container labels, logs); "" = "default".
	Name      string
	ZooKeeper ZooKeeperOptions
	// Supervisors is the number of supervisors (0 = 3).
	Supervisors int
	// Slots is the number of worker slots per supervisor (0 = 4).
	Slots int
	// DataDir holds all state. Empty: a temporary dir removed on Close.
	// Given: persistent, so that a restarted cluster resumes its topologies.
	DataDir string
	// APIAddr is where nimbus's HTTP API listens; "" = 127.0.0.1:0.
	APIAddr string
	// APIHosts are the names, besides localhost and the loopback
	// addresses, that clients may give as Host to reach the API
	// (nimbus.Options.APIHosts).
	APIHosts []string
	// ThriftAddr is where nimbus's Thrift service listens; "" =
	// 127.0.0.1:<nimbus.thrift.port> when Conf sets it, else 127.0.0.1:0.
	ThriftAddr string
	// Conf overrides on top of Storm's defaults and the local profile
	// (config.LocalProfile); testkit passes config.TestProfile here.
	Conf config.Conf
	// Executable is the localstorm binary that runs Flux workers
	// ("" = this process's executable).
	Executable string
	// Logger receives the daemons' logs (nil = discard).
	Logger *slog.Logger
	// Progress, when set, is told each start-up step and how long it took.
	Progress func(step string, took time.Duration)
	// ServeFaults makes nimbus's API serve POST /api/v1/faults/<fault>
	// (faultapi.go), done by this cluster: `localstorm up` sets it so that
	// `localstorm fault ...` can break the cluster on purpose.
	ServeFaults bool
	// EventCapacity is how many events the cluster's timeline keeps (the
	// newest); 0 = timeline.DefaultCapacity.
	EventCapacity int
}

func (o *Options) applyDefaults() {
	if o.Name == "" {
		o.Name = "default"
	}
	if o.ZooKeeper.Mode == "" {
		o.ZooKeeper.Mode = ZooKeeperEmbedded
	}
	if o.ZooKeeper.TickTime == 0 {
		o.ZooKeeper.TickTime = 500 * time.Millisecond
	}
	if o.Supervisors == 0 {
		o.Supervisors = 3
	}
	if o.Slots == 0 {
		o.Slots = 4
	}
	if o.APIAddr == "" {
		o.APIAddr = "127.0.0.1:0"
	}
	if o.ThriftAddr == "" {
		o.ThriftAddr = thriftAddr(o.Conf)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate checks o as Start does, the configuration included, so that a
// caller can refuse bad options before it says it is starting anything.
func (o Options) Validate() error {
	o.applyDefaults()
	if err := o.validate(); err != nil {
		return err
	}
	return config.Validate(o.conf())
}

// conf is the cluster's configuration: Storm's defaults, the local profile,
// then Conf.
func (o *Options) conf() config.Conf {
	return config.Defaults().Merge(config.LocalProfile()).Merge(o.Conf)
}

func (o *Options) validate() error {
	if _, port, err := net.SplitHostPort(o.APIAddr); err != nil {
		return fmt.Errorf("api addr %q is malformed (%v): give HOST:PORT, e.g. 127.0.0.1:8080, or port 0 for a free one", o.APIAddr, err)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("api addr %q is malformed: the port must be a number from 0 to 65535", o.APIAddr)
	}
	if o.Supervisors < 0 {
		return fmt.Errorf("supervisors: %d is negative; give 1 or more", o.Supervisors)
	}
	if o.Slots < 0 || o.Slots > 64 {
		return fmt.Errorf("slots: %d per supervisor is out of range; give 1 to 64", o.Slots)
	}
	switch o.ZooKeeper.Mode {
	case ZooKeeperEmbedded:
	case ZooKeeperContainer:
		if _, err := containerRuntime(); err != nil {
			return err
		}
	case ZooKeeperExternal:
		if len(o.ZooKeeper.Servers) == 0 {
			return fmt.Errorf("zookeeper: external mode needs host:port servers")
		}
	default:
		return fmt.Errorf("zookeeper: unknown mode %q; use embedded, container or external", o.ZooKeeper.Mode)
	}
	return nil
}
