// Package zktest starts ZooKeeper servers for tests: a real ZooKeeper 3.8 from
// Debian's `zookeeper` package run with Java, so that every suite can compare the
// embedded server with the real thing.
package zktest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RealClasspath is where Debian's zookeeper package puts its configuration and jars.
const RealClasspath = "/etc/zookeeper/conf:/usr/share/java/*"

// RealServer is a real ZooKeeper process started by StartReal.
type RealServer struct {
	Addr    string
	DataDir string
	cmd     *exec.Cmd
	logPath string
	cfgPath string
	dir     string
	jvm     []string
}

// RealOptions tune the real server; zero values give tickTime 2000.
type RealOptions struct {
	TickTime int
	// Extra holds further zoo.cfg lines ("key=value").
	Extra []string
	// JVMFlags replace the default flags tuned for a quick start (small heap,
	// serial GC, C1 only); benchmarks pass the JVM's defaults ([]string{}).
	JVMFlags []string
}

// StartReal starts a real ZooKeeper 3.8 on a free loopback port and waits until
// `srvr` answers with a Mode: line. It fails the test (never skips) when the
// server cannot start: CI installs it, so a missing server is a broken setup.
func StartReal(t testing.TB, opts RealOptions) *RealServer {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := startReal(t.TempDir(), opts)
		if err == nil {
			t.Cleanup(func() { s.Stop() })
			return s
		}
		lastErr = err
	}
	t.Fatalf("start real ZooKeeper 3.8 (Debian package zookeeper, run with java): %v", lastErr)
	return nil
}

func startReal(dir string, opts RealOptions) (*RealServer, error) {
	if _, err := exec.LookPath("java"); err != nil {
		return nil, fmt.Errorf("java not found: install default-jre-headless: %w", err)
	}
	if _, err := os.Stat("/usr/share/java/zookeeper.jar"); err != nil {
		return nil, fmt.Errorf("zookeeper jars not found: apt-get install zookeeper: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	tick := opts.TickTime
	if tick == 0 {
		tick = 2000
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	cfg := []string{
		fmt.Sprintf("tickTime=%d", tick),
		"dataDir=" + dataDir,
		fmt.Sprintf("clientPort=%d", port),
		"clientPortAddress=127.0.0.1",
		"admin.enableServer=false",
		"4lw.commands.whitelist=*",
		"maxClientCnxns=0",
	}
	cfg = append(cfg, opts.Extra...)
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(strings.Join(cfg, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	s := &RealServer{Addr: fmt.Sprintf("127.0.0.1:%d", port), DataDir: dataDir, cfgPath: cfgPath, dir: dir, jvm: opts.JVMFlags}
	if s.jvm == nil {
		s.jvm = []string{"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"}
	}
	if err := s.launch(); err != nil {
		return nil, err
	}
	return s, nil
}

// launch runs the server from its zoo.cfg and waits until it serves.
func (s *RealServer) launch() error {
	dir, cfgPath := s.dir, s.cfgPath
	logPath := filepath.Join(dir, "zookeeper.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := append(append([]string{}, s.jvm...),
		"-Dzookeeper.log.dir="+dir, "-Dzookeeper.root.logger=INFO,CONSOLE",
		"-cp", RealClasspath, "org.apache.zookeeper.server.ZooKeeperServerMain", cfgPath)
	cmd := exec.Command("java", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = deathBoundAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.logPath = cmd, logPath
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("real ZooKeeper exited during start; log:\n%s", tail(string(log), 2000))
		default:
		}
		if out, err := FourLetter(s.Addr, "srvr", time.Second); err == nil && strings.Contains(out, "Mode:") {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return errors.New("real ZooKeeper did not answer srvr with a Mode: line within 30s")
}

// Pid is the server's process id (0 when stopped).
func (s *RealServer) Pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Stop kills the server's process group and waits for it.
func (s *RealServer) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	for i := 0; i < 100; i++ {
		if err := syscall.Kill(s.cmd.Process.Pid, 0); err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd = nil
}

// Restart kills the server (SIGKILL, as a crash) and starts it again on the
// same port and data directory, waiting until it serves.
func (s *RealServer) Restart() error {
	s.Stop()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = s.launch(); err == nil {
			return nil
		}
	}
	return fmt.Errorf("restart real ZooKeeper on %s: %w", s.Addr, err)
}

// Log returns the server's log so far.
func (s *RealServer) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// FourLetter sends a four-letter word to addr and returns the whole answer.
func FourLetter(addr, word string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(word)); err != nil {
		return "", err
	}
	var sb strings.Builder
	r := bufio.NewReader(c)
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return sb.String(), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
