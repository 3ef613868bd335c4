package localcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/localstorm/localstorm/internal/slotport"
)

// Slot ports are chosen by slotport.Range, below the kernel's ephemeral
// range, and reserved by slotport.Reserve until the cluster closes: see
// package slotport for why and how.

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
	held map[int]*slotport.Reservation
}

var slotPortsInUse = &portRegistry{held: map[int]*slotport.Reservation{}}

// claim reserves port p if nothing holds it.
func (r *portRegistry) claim(p int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.held[p]; ok {
		return false
	}
	res, err := slotport.Reserve(p)
	if err != nil {
		return false
	}
	r.held[p] = res
	return true
}

// claimFree takes a free port below the ephemeral range, chosen at random;
// where the range leaves no room below it, one the kernel picks in it.
func (r *portRegistry) claimFree() (int, error) {
	lo, hi := slotport.Range()
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
			if res, ok := r.held[p]; ok {
				res.Release()
				delete(r.held, p)
			}
		}
	}
}
