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
}

// RealOptions tune the real server; zero values give tickTime 2000.
type RealOptions struct {
	TickTime int
	// Extra holds further zoo.cfg lines ("key=value").
	Extra []string
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
	logPath := filepath.Join(dir, "zookeeper.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command("java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dzookeeper.log.dir="+dir, "-Dzookeeper.root.logger=INFO,CONSOLE",
		"-cp", RealClasspath, "org.apache.zookeeper.server.ZooKeeperServerMain", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &RealServer{Addr: fmt.Sprintf("127.0.0.1:%d", port), DataDir: dataDir, cmd: cmd, logPath: logPath}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("real ZooKeeper exited during start; log:\n%s", tail(string(log), 2000))
		default:
		}
		if out, err := FourLetter(s.Addr, "srvr", time.Second); err == nil && strings.Contains(out, "Mode:") {
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return nil, errors.New("real ZooKeeper did not answer srvr with a Mode: line within 30s")
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
