// Package zkcontainer runs a real ZooKeeper server in a Docker container for
// localstorm's "container" ZooKeeper mode, using testcontainers-go.
//
// The container carries the label io.localstorm.cluster=<cluster name> so
// that a later run can remove what a crashed one left behind (ReapOrphans);
// testcontainers' Ryuk reaper is disabled, as it needs a registry pull and a
// long-lived side container, and localstorm cleans up after itself. The
// client port 2181 is published on 127.0.0.1 only.
//
// Importing the package makes localcluster's container mode available; a
// program that does not import it does not link the Docker client.
package zkcontainer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/localstorm/localstorm/internal/errlist"
	"github.com/localstorm/localstorm/localcluster"
)

const (
	// DefaultImage is the ZooKeeper image run when neither Options.Image nor
	// $LOCALSTORM_ZOOKEEPER_IMAGE names one.
	DefaultImage = "zookeeper:3.9"
	// ImageEnv overrides DefaultImage.
	ImageEnv = "LOCALSTORM_ZOOKEEPER_IMAGE"
	// ClusterLabel marks every container started here with its cluster name.
	ClusterLabel = "io.localstorm.cluster"
	// DefaultCluster is the label value used when Options.Cluster is empty.
	DefaultCluster = "localstorm"
	// clientPort is ZooKeeper's client port inside the container.
	clientPort = "2181/tcp"
	// defaultStartupTimeout bounds the wait for `srvr` to answer; a JVM in a
	// fresh container on a busy 2-core machine takes a few seconds.
	defaultStartupTimeout = 90 * time.Second
)

// ErrNoDocker is returned (wrapped) when no Docker engine answers.
var ErrNoDocker = errors.New("no reachable Docker engine (is dockerd running, and DOCKER_HOST right?); run without Docker with --zookeeper embedded")

// Logger receives testcontainers' progress messages; *log.Logger and
// testcontainers' log.TestLogger fit.
type Logger interface {
	Printf(format string, args ...any)
}

// Options configure Start. The zero value runs DefaultImage (or
// $LOCALSTORM_ZOOKEEPER_IMAGE) labelled with DefaultCluster, silently.
type Options struct {
	Image          string        // image to run; see DefaultImage and ImageEnv
	Cluster        string        // value of the io.localstorm.cluster label
	Logger         Logger        // nil discards testcontainers' messages
	StartupTimeout time.Duration // 0 means 90 s
}

// Container is a running ZooKeeper container.
type Container struct {
	ctr     *testcontainers.DockerContainer
	addr    string
	image   string
	cluster string

	closeOnce sync.Once
	closeErr  error
}

var disableRyuk sync.Once

// ryukOff turns testcontainers' reaper off for this process. testcontainers
// reads its configuration once, from the environment, so this must happen
// before its first use; localstorm never wants the reaper. It also silences
// testcontainers' process-wide logger, which otherwise prints a Docker
// banner into the CLI's output; per-container messages go to
// Options.Logger.
func ryukOff() {
	disableRyuk.Do(func() {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
		tclog.SetDefault(tclog.NewNoopLogger())
	})
}

// resolveImage applies the image precedence: option, environment, default.
func resolveImage(opt string) string {
	if opt != "" {
		return opt
	}
	if env := os.Getenv(ImageEnv); env != "" {
		return env
	}
	return DefaultImage
}

func clusterName(opt string) string {
	if opt == "" {
		return DefaultCluster
	}
	return opt
}

// dockerClient connects to the Docker engine, turning any failure into
// ErrNoDocker. A DOCKER_HOST that is set is used strictly: testcontainers
// would silently fall back to the default socket, hiding a mistake (and
// making a missing engine impossible to simulate). Otherwise testcontainers'
// own discovery runs (docker contexts, the default and rootless sockets).
func dockerClient(ctx context.Context) (*client.Client, error) {
	ryukOff()
	if host := os.Getenv("DOCKER_HOST"); host != "" {
		cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("%w: DOCKER_HOST=%s: %v", ErrNoDocker, host, err)
		}
		if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
			_ = cli.Close()
			return nil, fmt.Errorf("%w: DOCKER_HOST=%s: %v", ErrNoDocker, host, err)
		}
		return cli, nil
	}
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	return cli.Client, nil
}

// Start runs a ZooKeeper container and returns once it serves: its `srvr`
// four-letter command answers with a Mode: line. On error nothing is left
// running.
func Start(ctx context.Context, opts Options) (*Container, error) {
	image, cluster := resolveImage(opts.Image), clusterName(opts.Cluster)
	cli, err := dockerClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("start ZooKeeper container (%s): %w", image, err)
	}
	_ = cli.Close()

	var logger tclog.Logger = tclog.NewNoopLogger()
	if opts.Logger != nil {
		logger = opts.Logger
	}
	ctr, err := testcontainers.Run(ctx, image,
		testcontainers.WithLogger(logger),
		testcontainers.WithLabels(map[string]string{ClusterLabel: cluster}),
		testcontainers.WithExposedPorts(clientPort),
		// The official image allows only `srvr` by default; ours allows all.
		testcontainers.WithEnv(map[string]string{
			"ZOO_4LW_COMMANDS_WHITELIST": "*",
			"ZOO_ADMINSERVER_ENABLED":    "false",
		}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{
				network.MustParsePort(clientPort): {{HostIP: netip.MustParseAddr("127.0.0.1")}},
			}
		}),
	)
	c := &Container{ctr: ctr, image: image, cluster: cluster}
	if err != nil {
		return nil, c.abort(fmt.Errorf("start ZooKeeper container (%s): %w", image, err))
	}
	port, err := ctr.MappedPort(ctx, clientPort)
	if err != nil {
		return nil, c.abort(fmt.Errorf("start ZooKeeper container (%s): find the mapped client port: %w", image, err))
	}
	c.addr = net.JoinHostPort("127.0.0.1", port.Port())

	timeout := opts.StartupTimeout
	if timeout <= 0 {
		timeout = defaultStartupTimeout
	}
	if err := waitServing(ctx, c.addr, timeout); err != nil {
		return nil, c.abort(fmt.Errorf("start ZooKeeper container (%s) at %s: %w", image, c.addr, err))
	}
	return c, nil
}

// abort removes a half-started container and returns err with any cleanup
// failure attached.
func (c *Container) abort(err error) error {
	if c.ctr == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cerr := c.Close(ctx); cerr != nil {
		return fmt.Errorf("%w (and removing the container failed: %v)", err, cerr)
	}
	return err
}

// waitServing polls `srvr` until ZooKeeper reports its mode. Docker's port
// proxy accepts connections before the server listens, so a successful
// connect alone proves nothing.
func waitServing(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		mode, err := Srvr(ctx, addr)
		if err == nil && mode != "" {
			return nil
		}
		if err == nil {
			err = errors.New("srvr answered without a Mode: line")
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("not serving within %v: last attempt: %v", timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Srvr sends ZooKeeper's `srvr` four-letter command to addr and returns the
// value of its Mode: line (standalone, leader, follower), or "" when the
// answer has none.
func Srvr(ctx context.Context, addr string) (mode string, err error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	deadline := time.Now().Add(2 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	if _, err := conn.Write([]byte("srvr")); err != nil {
		return "", err
	}
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "Mode:"); ok {
			return strings.TrimSpace(m), nil
		}
	}
	return "", sc.Err()
}

// Addr returns the client address, 127.0.0.1:<mapped port>.
func (c *Container) Addr() string { return c.addr }

// ID returns the Docker container id.
func (c *Container) ID() string { return c.ctr.GetContainerID() }

// Image returns the image the container runs.
func (c *Container) Image() string { return c.image }

// Close stops and removes the container with its volumes. It is idempotent.
func (c *Container) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		if err := c.ctr.Terminate(ctx, testcontainers.RemoveVolumes()); err != nil {
			c.closeErr = fmt.Errorf("remove ZooKeeper container %.12s: %w", c.ctr.GetContainerID(), err)
		}
	})
	return c.closeErr
}

// ReapOrphans force-removes every container, running or not, labelled with
// cluster (DefaultCluster when empty): what a crashed run left behind. It
// returns how many it removed. Call it before Start for the same cluster
// name, never while that cluster is running.
func ReapOrphans(ctx context.Context, cluster string) (int, error) {
	cluster = clusterName(cluster)
	cli, err := dockerClient(ctx)
	if err != nil {
		return 0, fmt.Errorf("reap ZooKeeper containers of cluster %q: %w", cluster, err)
	}
	defer cli.Close()
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", ClusterLabel+"="+cluster),
	})
	if err != nil {
		return 0, fmt.Errorf("reap ZooKeeper containers of cluster %q: list: %w", cluster, err)
	}
	removed := 0
	var errs *multierror.Error
	for _, ctr := range list.Items {
		_, err := cli.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil {
			errs = multierror.Append(errs, fmt.Errorf("remove %.12s: %w", ctr.ID, err))
			continue
		}
		removed++
	}
	if err := errlist.Err(errs); err != nil {
		return removed, fmt.Errorf("reap ZooKeeper containers of cluster %q: %w", cluster, err)
	}
	return removed, nil
}

// Importing this package makes localcluster's container mode available.
func init() { localcluster.RegisterContainerRuntime(containerRuntime{}) }

// containerRuntime is localcluster's ContainerRuntime over Start and ReapOrphans.
type containerRuntime struct{}

func (containerRuntime) StartZooKeeper(ctx context.Context, image, cluster string, logf func(string, ...any)) (localcluster.ContainerZooKeeper, error) {
	c, err := Start(ctx, Options{Image: image, Cluster: cluster, Logger: printf(logf)})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (containerRuntime) ReapOrphans(ctx context.Context, cluster string) (int, error) {
	return ReapOrphans(ctx, cluster)
}

// printf is a Logger that hands messages to a function.
type printf func(string, ...any)

func (f printf) Printf(format string, args ...any) { f(format, args...) }
