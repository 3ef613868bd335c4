package localcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// slotPorts gives every supervisor its worker slot ports. A persistent data
// dir remembers them (ports.json) so that a restarted cluster's assignments
// still point at live slots; a remembered port that another program took
// meanwhile is replaced. Ports are probed by binding them: a worker that still
// meets a conflict retries its bind (see the worker's listener).
func (c *Cluster) slotPorts(supervisors, slots int) ([][]int, error) {
	path := filepath.Join(c.dataDir, "ports.json")
	var remembered [][]int
	if !c.tempDir {
		if b, err := os.ReadFile(path); err == nil {
			_ = json.Unmarshal(b, &remembered)
		}
	}
	taken := map[int]bool{}
	out := make([][]int, supervisors)
	for i := range out {
		for j := 0; j < slots; j++ {
			if i < len(remembered) && j < len(remembered[i]) {
				p := remembered[i][j]
				if !taken[p] && portFree(p) {
					out[i] = append(out[i], p)
					taken[p] = true
					continue
				}
			}
			p, err := freePort(taken)
			if err != nil {
				return nil, fmt.Errorf("find free slot ports: %w", err)
			}
			out[i] = append(out[i], p)
			taken[p] = true
		}
	}
	if !c.tempDir {
		b, _ := json.Marshal(out)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return nil, fmt.Errorf("remember slot ports: %w", err)
		}
	}
	return out, nil
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freePort(taken map[int]bool) (int, error) {
	for i := 0; i < 100; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !taken[p] {
			return p, nil
		}
	}
	return 0, errors.New("no free loopback port after 100 tries")
}
