package zookeeper

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Four-letter words on the client port, in ZooKeeper 3.8's formats (the
// classes of org.apache.zookeeper.server.command). A connection whose first
// four bytes spell one gets the answer and is closed.

// zkVersion is what the server calls itself: the 3.8.0 of Debian's package.
const zkVersion = "3.8.0-localstorm, built on 2024-12-29 17:54 UTC"

// isFourLetterWord reports whether the first four bytes of a connection are
// one of ZooKeeper's four-letter words rather than a frame length.
func isFourLetterWord(w string) bool {
	switch w {
	case "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk", "srvr", "srst",
		"stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash":
		return true
	}
	return false
}

func (s *Server) fourLetterAllowed(word string) bool {
	for _, w := range s.opts.FourLetterWords {
		if w == "*" || strings.TrimSpace(w) == word {
			return true
		}
	}
	return false
}

// fourLetter answers one word.
func (s *Server) fourLetter(word string) string {
	if !s.fourLetterAllowed(word) {
		return word + " is not executed because it is not in the whitelist.\n"
	}
	var b strings.Builder
	switch word {
	case "ruok":
		b.WriteString("imok")
	case "isro":
		b.WriteString("rw")
	case "srvr":
		s.writeSrvr(&b, false)
	case "stat":
		s.writeSrvr(&b, true)
	case "cons":
		for _, c := range s.connections() {
			c.dumpInfo(&b, false)
			b.WriteString("\n")
		}
		b.WriteString("\n")
	case "crst", "srst":
		s.stats.latencyMin.Store(0)
		s.stats.latencyMax.Store(0)
		s.stats.latencySum.Store(0)
		s.stats.latencyN.Store(0)
		s.stats.received.Store(0)
		s.stats.sent.Store(0)
		if word == "crst" {
			b.WriteString("Connection stats reset.\n")
		} else {
			b.WriteString("Server stats reset.\n")
		}
	case "wchs":
		conns, paths, total := s.dataWatchCounts()
		fmt.Fprintf(&b, "%d connections watching %d paths\nTotal watches:%d\n", conns, paths, total)
	case "wchc":
		s.writeWatchesByConn(&b)
		b.WriteString("\n")
	case "wchp":
		s.writeWatchesByPath(&b)
		b.WriteString("\n")
	case "dump":
		s.writeDump(&b)
	case "envi":
		writeEnvi(&b)
	case "conf":
		s.writeConf(&b)
	case "mntr":
		s.writeMntr(&b)
	case "dirs":
		fmt.Fprintf(&b, "datadir_size: %d\nlogdir_size: %d\n", dirSize(s.opts.DataDir), dirSize(s.opts.DataDir))
	case "gtmk", "stmk":
		b.WriteString("0\n")
	case "hash":
		b.WriteString("Digest computation is disabled.\n")
	}
	return b.String()
}

func (s *Server) writeSrvr(b *strings.Builder, withClients bool) {
	fmt.Fprintf(b, "Zookeeper version: %s\n", zkVersion)
	if withClients {
		b.WriteString("Clients:\n")
		for _, c := range s.connections() {
			c.dumpInfo(b, true)
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	minL, avg, maxL := s.latencies()
	fmt.Fprintf(b, "Latency min/avg/max: %d/%s/%d\n", minL, avg, maxL)
	fmt.Fprintf(b, "Received: %d\n", s.stats.received.Load())
	fmt.Fprintf(b, "Sent: %d\n", s.stats.sent.Load())
	fmt.Fprintf(b, "Connections: %d\n", len(s.connections()))
	b.WriteString("Outstanding: 0\n")
	fmt.Fprintf(b, "Zxid: 0x%x\n", uint64(s.lastZxid()))
	b.WriteString("Mode: standalone\n")
	fmt.Fprintf(b, "Node count: %d\n", s.nodeCount())
}

func (s *Server) nodeCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tree.size()
}

// latencies are min, avg (formatted as a Java double) and max in ms.
func (s *Server) latencies() (int64, string, int64) {
	n := s.stats.latencyN.Load()
	if n == 0 {
		return 0, "0.0", 0
	}
	return s.stats.latencyMin.Load(), javaDouble(float64(s.stats.latencySum.Load()) / float64(n)), s.stats.latencyMax.Load()
}

func javaDouble(f float64) string {
	out := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(out, ".") {
		out += ".0"
	}
	return out
}

// dumpInfo is ServerCnxn.dumpConnectionInfo.
func (c *conn) dumpInfo(b *strings.Builder, brief bool) {
	fmt.Fprintf(b, " /%s[1](queued=0,recved=%d,sent=%d", c.remote, c.received.Load(), c.sent.Load())
	if sid := c.session.Load(); !brief && sid != 0 {
		fmt.Fprintf(b, ",sid=0x%x,lop=%s,est=%d,to=%d", uint64(sid), opName(c.lastOp.Load()), c.established.UnixMilli(), c.timeout.Load())
		if cx := c.lastCxid.Load(); cx >= 0 {
			fmt.Fprintf(b, ",lcxid=0x%x", cx)
		}
		lat := c.lastLatency.Load()
		fmt.Fprintf(b, ",lzxid=0x%x,lresp=%d,llat=%d,minlat=0,avglat=%d,maxlat=%d",
			uint64(c.lastZxid.Load()), time.Now().UnixMilli(), lat, lat, lat)
	}
	b.WriteString(")")
}

// The watch words report the data-watch table only, as DataTree does.

func (s *Server) dataWatchCounts() (conns, paths, total int) {
	w := s.watches
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ps := range w.data.byConn {
		total += len(ps)
	}
	return len(w.data.byConn), len(w.data.byPath), total
}

func (s *Server) writeWatchesByConn(b *strings.Builder) {
	w := s.watches
	w.mu.Lock()
	defer w.mu.Unlock()
	conns := make([]*conn, 0, len(w.data.byConn))
	for c := range w.data.byConn {
		conns = append(conns, c)
	}
	slices.SortFunc(conns, func(a, b *conn) int { return cmp.Compare(a.id, b.id) })
	for _, c := range conns {
		fmt.Fprintf(b, "0x%x\n", uint64(c.session.Load()))
		for _, p := range slices.Sorted(maps.Keys(w.data.byConn[c])) {
			fmt.Fprintf(b, "\t%s\n", p)
		}
	}
}

func (s *Server) writeWatchesByPath(b *strings.Builder) {
	w := s.watches
	w.mu.Lock()
	defer w.mu.Unlock()
	paths := slices.Sorted(maps.Keys(w.data.byPath))
	for _, p := range paths {
		b.WriteString(p + "\n")
		for c := range w.data.byPath[p] {
			fmt.Fprintf(b, "\t0x%x\n", uint64(c.session.Load()))
		}
	}
}

// javaDate formats like java.util.Date.toString.
func javaDate(t time.Time) string { return t.Format("Mon Jan 02 15:04:05 MST 2006") }

func (s *Server) writeDump(b *strings.Builder) {
	b.WriteString("SessionTracker dump:\n")
	sessions := s.sessions.snapshot()
	buckets := map[time.Time][]int64{}
	for _, ss := range sessions {
		buckets[ss.expireAt] = append(buckets[ss.expireAt], ss.id)
	}
	times := make([]time.Time, 0, len(buckets))
	for at := range buckets {
		times = append(times, at)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	fmt.Fprintf(b, "Session Sets (%d)/(%d):\n", len(buckets), len(sessions))
	for _, at := range times {
		fmt.Fprintf(b, "%d expire at %s:\n", len(buckets[at]), javaDate(at))
		for _, id := range buckets[at] {
			fmt.Fprintf(b, "\t0x%x\n", uint64(id))
		}
	}
	b.WriteString("ephemeral nodes dump:\n")
	s.mu.RLock()
	owners := slices.Sorted(maps.Keys(s.tree.ephemerals))
	fmt.Fprintf(b, "Sessions with Ephemerals (%d):\n", len(owners))
	for _, id := range owners {
		fmt.Fprintf(b, "0x%x:\n", uint64(id))
		for _, p := range slices.Sorted(maps.Keys(s.tree.ephemerals[id])) {
			fmt.Fprintf(b, "\t%s\n", p)
		}
	}
	s.mu.RUnlock()
	b.WriteString("Connections dump:\n")
	var live []*conn
	for _, c := range s.connections() {
		if c.session.Load() != 0 {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		b.WriteString("Connections Sets (0)/(0):\n")
		return
	}
	// Connections expire with their session timeout, rounded like sessions.
	fmt.Fprintf(b, "Connections Sets (1)/(%d):\n", len(live))
	fmt.Fprintf(b, "%d expire at %s:\n", len(live), javaDate(s.sessions.bucket(time.Now().Add(s.opts.MaxSessionTimeout))))
	for _, c := range live {
		fmt.Fprintf(b, "\tip: /%s sessionId: 0x%x\n", c.remote, uint64(c.session.Load()))
	}
}

func writeEnvi(b *strings.Builder) {
	host, _ := os.Hostname()
	wd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	user := os.Getenv("USER")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	exe, _ := os.Executable()
	b.WriteString("Environment:\n")
	for _, kv := range [][2]string{
		{"zookeeper.version", zkVersion},
		{"host.name", host},
		{"java.version", runtime.Version()},
		{"java.vendor", "localstorm (Go)"},
		{"java.home", runtime.GOROOT()},
		{"java.class.path", exe},
		{"java.library.path", ""},
		{"java.io.tmpdir", os.TempDir()},
		{"java.compiler", "<NA>"},
		{"os.name", runtime.GOOS},
		{"os.arch", runtime.GOARCH},
		{"os.version", ""},
		{"user.name", user},
		{"user.home", home},
		{"user.dir", wd},
		{"os.memory.free", strconv.FormatUint((ms.HeapIdle)>>20, 10) + "MB"},
		{"os.memory.max", strconv.FormatUint(ms.Sys>>20, 10) + "MB"},
		{"os.memory.total", strconv.FormatUint(ms.HeapSys>>20, 10) + "MB"},
	} {
		b.WriteString(kv[0] + "=" + kv[1] + "\n")
	}
}

func (s *Server) writeConf(b *strings.Builder) {
	_, port, _ := strings.Cut(s.opts.Addr, ":")
	if i := strings.LastIndexByte(s.opts.Addr, ':'); i >= 0 {
		port = s.opts.Addr[i+1:]
	}
	dir := s.opts.DataDir
	if dir != "" {
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
	}
	size := dirSize(s.opts.DataDir)
	fmt.Fprintf(b, "clientPort=%s\nsecureClientPort=-1\ndataDir=%s\ndataDirSize=%d\ndataLogDir=%s\ndataLogSize=%d\n", port, dir, size, dir, size)
	fmt.Fprintf(b, "tickTime=%d\nmaxClientCnxns=60\nminSessionTimeout=%d\nmaxSessionTimeout=%d\nclientPortListenBacklog=-1\nserverId=0\n",
		s.opts.TickTime.Milliseconds(), s.opts.MinSessionTimeout.Milliseconds(), s.opts.MaxSessionTimeout.Milliseconds())
}

func dirSize(dir string) int64 {
	if dir == "" {
		return 0
	}
	var total int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !info.IsDir() {
			total += info.Size()
		}
	}
	return total
}

func (s *Server) writeMntr(b *strings.Builder) {
	minL, avg, maxL := s.latencies()
	s.mu.RLock()
	nodes := s.tree.size()
	ephemerals := 0
	for _, set := range s.tree.ephemerals {
		ephemerals += len(set)
	}
	dataSize := s.tree.approximateDataSize()
	s.mu.RUnlock()
	// zk_watch_count is DataTree.getWatchCount: data and child watches.
	_, _, watches := s.watches.watchCounts()
	fds, maxFDs := openFiles()
	for _, kv := range []struct {
		k string
		v any
	}{
		{"zk_version", zkVersion},
		{"zk_server_state", "standalone"},
		{"zk_avg_latency", avg},
		{"zk_max_latency", maxL},
		{"zk_min_latency", minL},
		{"zk_packets_received", s.stats.received.Load()},
		{"zk_packets_sent", s.stats.sent.Load()},
		{"zk_num_alive_connections", len(s.connections())},
		{"zk_outstanding_requests", 0},
		{"zk_znode_count", nodes},
		{"zk_watch_count", watches},
		{"zk_ephemerals_count", ephemerals},
		{"zk_approximate_data_size", dataSize},
		{"zk_open_file_descriptor_count", fds},
		{"zk_max_file_descriptor_count", maxFDs},
		{"zk_uptime", time.Since(s.started).Milliseconds()},
		{"zk_global_sessions", len(s.sessions.snapshot())},
		{"zk_local_sessions", 0},
		{"zk_last_proposal_size", -1},
		{"zk_max_proposal_size", -1},
		{"zk_min_proposal_size", -1},
	} {
		fmt.Fprintf(b, "%s\t%v\n", kv.k, kv.v)
	}
}
