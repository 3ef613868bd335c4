package supervisor

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/workercontract"
)

// LocalAssignment is what one slot port of this supervisor runs.
type LocalAssignment struct {
	TopologyID string                 `json:"topologyId"`
	Executors  []cluster.ExecutorInfo `json:"executors"`
	// ConfSHA256 is the assignment's checksum of the topology's conf: a
	// worker started with another conf is restarted (empty: no check).
	ConfSHA256 string `json:"confSha256,omitempty"`
}

// assignmentsForNode picks this node's slots out of every topology's
// assignment. Two topologies on one port is an error (nimbus never does it).
func assignmentsForNode(node string, assignments map[string]*cluster.Assignment) (map[int]LocalAssignment, error) {
	out := map[int]LocalAssignment{}
	ids := slices.Sorted(maps.Keys(assignments))
	for _, id := range ids {
		a := assignments[id]
		if a == nil {
			continue
		}
		for _, ea := range a.Executors {
			if ea.Slot.Node != node {
				continue
			}
			la, ok := out[ea.Slot.Port]
			if ok && la.TopologyID != id {
				return nil, fmt.Errorf("port %d is assigned to both %s and %s", ea.Slot.Port, la.TopologyID, id)
			}
			la.TopologyID = id
			la.ConfSHA256 = a.ConfSHA256
			la.Executors = append(la.Executors, ea.Executor)
			out[ea.Slot.Port] = la
		}
	}
	for port, la := range out {
		sortExecutors(la.Executors)
		out[port] = la
	}
	return out, nil
}

func sortExecutors(es []cluster.ExecutorInfo) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].Start != es[j].Start {
			return es[i].Start < es[j].Start
		}
		return es[i].End < es[j].End
	})
}

// synchronizeSupervisor is Storm's synchronize-supervisor: read every
// assignment (re-registering the one-shot watches that trigger it again),
// download the code of newly assigned topologies, store the local
// assignments, remove code no longer assigned and enqueue sync-processes.
// ZooKeeper or download failures are logged and retried (at the next watch
// event, a retry scheduled in a second, or the 10 s period); only a failure
// to write LocalState is fatal.
func (s *Supervisor) synchronizeSupervisor() error {
	s.syncQueued.Store(false) // a change from now on queues another run
	s.syncRuns.Add(1)
	if s.ctx.Err() != nil {
		return nil
	}
	again := s.queueSync
	all, err := s.assignmentsSnapshot(again)
	if err != nil {
		s.log.Warn("synchronize-supervisor: read assignments", "err", err)
		return nil
	}
	assigned, err := assignmentsForNode(s.id, all)
	if err != nil {
		s.log.Error("synchronize-supervisor: invalid assignments", "err", err)
		return nil
	}
	retry := false
	confs := map[string]string{} // topology → the checksum of its local conf
	for port, la := range assigned {
		if err := s.ensureCode(la.TopologyID); err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			s.log.Warn("synchronize-supervisor: download code; retrying", "topology", la.TopologyID, "err", err)
			delete(assigned, port)
			retry = true
			continue
		}
		local, ok := confs[la.TopologyID]
		if !ok {
			var err error
			if local, err = s.ensureConf(la.TopologyID, la.ConfSHA256); err != nil {
				if s.ctx.Err() != nil {
					return nil
				}
				// The workers go on with the conf they have.
				s.log.Warn("synchronize-supervisor: download the changed topology conf; retrying", "topology", la.TopologyID, "err", err)
				retry = true
			}
			confs[la.TopologyID] = local
		}
		if local != la.ConfSHA256 {
			la.ConfSHA256 = ""
			assigned[port] = la
		}
	}
	stored, err := s.localAssignments()
	if err != nil || !reflect.DeepEqual(stored, assigned) {
		// Only a change is written: each write is a new fsynced version.
		if err := s.ls.Put(keyLocalAssignments, assigned); err != nil {
			return fmt.Errorf("synchronize-supervisor: store local assignments: %w", err)
		}
	}
	s.removeUnassignedCode(assigned)
	s.procEvents.Add(s.syncProcesses)
	if retry {
		s.timer.Schedule(retryDelay, func() error { again(); return nil })
	}
	return nil
}

// versionedAssignment is an assignment as read at a version, trimmed to
// this node's executors.
type versionedAssignment struct {
	version    int32
	assignment *cluster.Assignment
}

// assignmentsSnapshot is Storm's assignments-snapshot: it lists the
// assignments and reads the version of each (both watched with again), and
// reads and decodes an assignment only when its version is not the one
// read last time. It keeps of each assignment only this node's executors.
// As in Storm, the version alone tells: a node deleted and written again
// starts over at version 0, but a topology id is never assigned twice, and
// an assignment deleted is gone from the listing of the next run (its
// watch queues one). Run on the sync event goroutine, which owns
// s.assignments.
func (s *Supervisor) assignmentsSnapshot(again cluster.Callback) (map[string]*cluster.Assignment, error) {
	ids, err := s.opts.State.Assignments(again)
	if err != nil {
		return nil, err
	}
	next := make(map[string]versionedAssignment, len(ids))
	for _, id := range ids {
		version, err := s.opts.State.AssignmentVersion(id, again)
		if err != nil {
			return nil, err
		}
		if old, ok := s.assignments[id]; ok && old.version == version {
			next[id] = old
			continue
		}
		a, version, err := s.opts.State.AssignmentInfoWithVersion(id, again)
		if err != nil {
			return nil, err
		}
		if a != nil {
			next[id] = versionedAssignment{version, onNode(s.id, a)}
		}
	}
	s.assignments = next
	out := make(map[string]*cluster.Assignment, len(next))
	for id, va := range next {
		out[id] = va.assignment
	}
	return out, nil
}

// onNode is a copy of a with only node's executors.
func onNode(node string, a *cluster.Assignment) *cluster.Assignment {
	mine := &cluster.Assignment{V: a.V, CodeDir: a.CodeDir, ConfSHA256: a.ConfSHA256}
	for _, ea := range a.Executors {
		if ea.Slot.Node == node {
			mine.Executors = append(mine.Executors, ea)
		}
	}
	return mine
}

// queueSync queues synchronize-supervisor, unless a run is queued and has
// not started yet: that run reads every assignment anyway. Storm queues one
// run per watch event; with many topologies and supervisors, a burst of
// submits then made every supervisor re-read every assignment once per new
// assignment (supervisors × topologies² reads).
func (s *Supervisor) queueSync() {
	if s.syncQueued.CompareAndSwap(false, true) {
		s.syncEvents.Add(s.synchronizeSupervisor)
	}
}

// retryDelay is how soon a failed download is tried again.
const retryDelay = time.Second

// localAssignments reads the local assignments from LocalState.
func (s *Supervisor) localAssignments() (map[int]LocalAssignment, error) {
	out := map[int]LocalAssignment{}
	if _, err := s.ls.Get(keyLocalAssignments, &out); err != nil {
		return nil, fmt.Errorf("read local assignments: %w", err)
	}
	return out, nil
}

// ensureCode downloads the topology's code into stormdist/<id> unless it is
// there: into a fresh tmp dir first, Flux resources unpacked, then renamed
// into place so a worker never sees a partial download.
func (s *Supervisor) ensureCode(topologyID string) error {
	if err := validTopologyID(topologyID); err != nil {
		return err
	}
	dest := s.dirs.CodeDir(topologyID)
	if _, err := os.Stat(dest); err == nil {
		return nil
	}
	tmp := filepath.Join(s.dirs.SupervisorTmp(), uuid.NewString())
	defer os.RemoveAll(tmp)
	if err := s.opts.Code.DownloadCode(s.ctx, topologyID, tmp); err != nil {
		return fmt.Errorf("download code of %s: %w", topologyID, err)
	}
	if f, err := os.Open(filepath.Join(tmp, workercontract.FluxCodeFile)); err == nil {
		err = untarGz(f, filepath.Join(tmp, workercontract.ResourcesDir))
		f.Close()
		if err != nil {
			return fmt.Errorf("unpack %s of %s: %w", workercontract.FluxCodeFile, topologyID, err)
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, workercontract.CodeFile)); err == nil {
		if err := os.Chmod(filepath.Join(tmp, workercontract.CodeFile), 0o755); err != nil {
			return fmt.Errorf("make %s of %s executable: %w", workercontract.CodeFile, topologyID, err)
		}
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("move code of %s into place: %w", topologyID, err)
	}
	s.log.Info("downloaded topology code", "topology", topologyID, "dir", dest)
	return nil
}

// ensureConf makes the topology's downloaded conf the one whose SHA-256 the
// assignment gives (want; empty: any), downloading the topology's files
// again when it differs (the conf changed on rebalance) and renaming the
// new conf over the old one; the code in use is left alone. It returns the
// checksum of the conf now in place.
func (s *Supervisor) ensureConf(topologyID, want string) (string, error) {
	path := filepath.Join(s.dirs.CodeDir(topologyID), workercontract.ConfFile)
	have, err := fileSHA256(path)
	if err != nil || want == "" || have == want {
		return have, err
	}
	tmp := filepath.Join(s.dirs.SupervisorTmp(), uuid.NewString())
	defer os.RemoveAll(tmp)
	if err := s.opts.Code.DownloadCode(s.ctx, topologyID, tmp); err != nil {
		return have, fmt.Errorf("download code of %s: %w", topologyID, err)
	}
	got, err := fileSHA256(filepath.Join(tmp, workercontract.ConfFile))
	if err != nil {
		return have, err
	}
	if err := os.Rename(filepath.Join(tmp, workercontract.ConfFile), path); err != nil {
		return have, fmt.Errorf("move the conf of %s into place: %w", topologyID, err)
	}
	s.log.Info("downloaded the changed topology conf", "topology", topologyID, "confSha256", got)
	return got, nil
}

// fileSHA256 is the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return sha256Hex(data), nil
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// validTopologyID refuses ids that would escape the stormdist dir.
func validTopologyID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`) {
		return fmt.Errorf("invalid topology id %q", id)
	}
	return nil
}

// removeUnassignedCode deletes the stormdist dirs of topologies this
// supervisor no longer runs.
func (s *Supervisor) removeUnassignedCode(assigned map[int]LocalAssignment) {
	keep := map[string]bool{}
	for _, la := range assigned {
		keep[la.TopologyID] = true
	}
	entries, err := os.ReadDir(s.dirs.SupervisorStormdist())
	if err != nil {
		s.log.Warn("list downloaded code", "err", err)
		return
	}
	for _, e := range entries {
		if keep[e.Name()] {
			continue
		}
		s.log.Info("removing code of a topology no longer assigned", "topology", e.Name())
		if err := os.RemoveAll(s.dirs.CodeDir(e.Name())); err != nil {
			s.log.Warn("remove code", "topology", e.Name(), "err", err)
		}
	}
}

// Bounds on an unpacked Flux archive, which comes from a user's upload.
const (
	maxUnpackedBytes = 1 << 30
	maxUnpackedFiles = 10000
)

// untarGz unpacks a gzipped tar of regular files and directories into dir,
// refusing entries that would land outside dir, links, and archives beyond
// maxUnpackedBytes or maxUnpackedFiles.
func untarGz(r io.Reader, dir string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("read gzip: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var total int64
	for files := 0; ; files++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if files >= maxUnpackedFiles {
			return fmt.Errorf("archive holds more than %d entries", maxUnpackedFiles)
		}
		name := filepath.Clean(filepath.FromSlash(hdr.Name))
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("archive entry %q points outside the resources dir", hdr.Name)
		}
		target := filepath.Join(dir, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			total += hdr.Size
			if hdr.Size < 0 || total > maxUnpackedBytes {
				return fmt.Errorf("archive unpacks to more than %d bytes", maxUnpackedBytes)
			}
			if err := writeFileFrom(target, tr, hdr.Size, os.FileMode(hdr.Mode)&0o755|0o600); err != nil {
				return fmt.Errorf("unpack %q: %w", hdr.Name, err)
			}
		default:
			return fmt.Errorf("archive entry %q: only regular files and directories are allowed", hdr.Name)
		}
	}
}

func writeFileFrom(path string, r io.Reader, size int64, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, r, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
