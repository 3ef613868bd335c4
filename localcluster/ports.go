package localcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Slot ports are chosen below the kernel's ephemeral port range (as Storm's
// default 6700 and up are), never in it: a port in that range that no
// worker listens on yet can meanwhile be handed to any listener on port 0
// (another cluster's ZooKeeper or API in the same test process) or to any
// outgoing connection as its source, and peers would then send their first
// tuples to a stranger, or to themselves.
//
// A cluster also reserves its slot ports until it closes, so that no other
// cluster, in this process or another, picks one of them: a socket bound to
// the port without SO_REUSEADDR (so the bind fails if anything holds the
// port), then given SO_REUSEADDR and never listening. Linux lets a listener
// that sets SO_REUSEADDR, as every Go listener does, bind beside such a
// socket, so the slot's worker listens as it always has; a dial meanwhile is
// refused, and the peer retries, as with no socket at all; and another
// reservation fails while either holds the port.

// slotPorts gives every supervisor its worker slot ports. A persistent data
// dir remembers them (ports.json) so that a restarted cluster's assignments
// still point at live slots; a remembered port that another program took
// meanwhile is replaced.
func (c *Cluster) slotPorts(supervisors, slots int) ([][]int, error) {
	path := filepath.Join(c.dataDir, "ports.json")
	var remembered [][]int
	if !c.tempDir {
		if b, err := os.ReadFile(path); err == nil {
			_ = json.Unmarshal(b, &remembered)
		}
	}
	out := make([][]int, supervisors)
	for i := range out {
		for j := 0; j < slots; j++ {
			if i < len(remembered) && j < len(remembered[i]) && slotPortsInUse.claim(remembered[i][j]) {
				out[i] = append(out[i], remembered[i][j])
				continue
			}
			p, err := slotPortsInUse.claimFree()
			if err != nil {
				slotPortsInUse.release(out...)
				return nil, fmt.Errorf("find free slot ports: %w", err)
			}
			out[i] = append(out[i], p)
		}
	}
	if !c.tempDir {
		b, _ := json.Marshal(out)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			slotPortsInUse.release(out...)
			return nil, fmt.Errorf("remember slot ports: %w", err)
		}
	}
	return out, nil
}

// portRegistry is the slot ports this process's clusters hold, each with
// its reserving socket.
type portRegistry struct {
	mu   sync.Mutex
	held map[int]int // port → reserving socket's fd
}

var slotPortsInUse = &portRegistry{held: map[int]int{}}

// claim reserves port p if nothing holds it.
func (r *portRegistry) claim(p int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.held[p]; ok {
		return false
	}
	fd, err := reservePort(p)
	if err != nil {
		return false
	}
	r.held[p] = fd
	return true
}

// reservePort binds a socket to 127.0.0.1:p as described at the top.
func reservePort(p int) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	err = syscall.Bind(fd, &syscall.SockaddrInet4{Port: p, Addr: [4]byte{127, 0, 0, 1}})
	if err == nil {
		err = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	}
	if err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}

// claimFree takes a free port below the ephemeral range, chosen at random;
// where the range leaves no room below it, one the kernel picks in it.
func (r *portRegistry) claimFree() (int, error) {
	lo, hi := slotPortRange()
	for i := 0; i < 200; i++ {
		var p int
		if hi-lo >= 1000 {
			p = lo + rand.IntN(hi-lo)
		} else {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return 0, err
			}
			p = l.Addr().(*net.TCPAddr).Port
			l.Close()
		}
		if r.claim(p) {
			return p, nil
		}
	}
	return 0, errors.New("no free loopback port after 200 tries")
}

// release gives ports back when their cluster closes.
func (r *portRegistry) release(ports ...[]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ps := range ports {
		for _, p := range ps {
			if fd, ok := r.held[p]; ok {
				syscall.Close(fd)
				delete(r.held, p)
			}
		}
	}
}

// slotPortRange is [10000, the first ephemeral port): the kernel hands out
// ports from ip_local_port_range (32768-60999 unless configured).
func slotPortRange() (int, int) {
	const lo = 10000
	hi := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				hi = v
			}
		}
	}
	return lo, hi
}
