package nimbus

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/workercontract"
)

// Storm's logviewer REST API, served by nimbus over the log files on this
// machine: the workers' logs, {root}/<topology-id>/<port>/<file> under each
// worker log root (a supervisor's {local}/logs), and the daemons' logs, the
// plain files of the daemon log dir. A file parameter names a file relative
// to those roots; every open goes through os.Root, so no "..", absolute
// path or symbolic link leads out of a root.

// logRoots are where the logviewer looks.
type logRoots struct {
	// workers are directories or filepath.Glob patterns of directories
	// (a localcluster's {data}/supervisor-*/logs), expanded at each request.
	workers []string
	// daemon holds the daemons' own log files; empty: none.
	daemon string
}

const (
	logPageBytes     = 51200   // Storm's default page length
	maxLogPageBytes  = 1 << 20 // the longest page served
	searchContext    = 128     // bytes before and after a match, as Storm's
	maxSearchBytes   = 1024    // the longest search string
	searchWindow     = 16 << 20
	defaultNumMatch  = 10
	maxNumMatches    = 1000
	logFileParam     = "file"
	isDaemonParam    = "is-daemon"
	searchParam      = "search-string"
	numMatchesParam  = "num-matches"
	startOffsetParam = "start-byte-offset"
)

func (l logRoots) workerDirs() []string {
	var out []string
	for _, pat := range l.workers {
		m, err := filepath.Glob(pat)
		if err != nil {
			continue
		}
		out = append(out, m...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkLogName refuses a file parameter that is not parts plain names joined
// by "/": worker logs are TOPOLOGY-ID/PORT/FILE, daemon logs FILE.
func checkLogName(name string, parts int) error {
	bad := name == "" || strings.ContainsAny(name, "\\\x00") || path.IsAbs(name) || filepath.IsAbs(name)
	elems := strings.Split(name, "/")
	if !bad && len(elems) != parts {
		bad = true
	}
	for _, e := range elems {
		if e == "" || e == "." || e == ".." {
			bad = true
		}
	}
	if bad {
		want := "TOPOLOGY-ID/PORT/FILE, as listLogs lists them"
		if parts == 1 {
			want = "a file name of the daemon log dir"
		}
		return fmt.Errorf("%w: log file %q: give %s (no .., no absolute path)", api.ErrInvalid, name, want)
	}
	return nil
}

// openLog opens a log file named relative to the roots. It is 400 for a name
// that is not one, 403 when the path leads out of its root (a symbolic link)
// or cannot be read, 404 when no root has it.
func (l logRoots) openLog(name string, daemon bool) (*os.File, fs.FileInfo, error) {
	parts, roots := 3, l.workerDirs()
	if daemon {
		parts, roots = 1, nil
		if l.daemon != "" {
			roots = []string{l.daemon}
		}
	}
	if err := checkLogName(name, parts); err != nil {
		return nil, nil, err
	}
	for _, dir := range roots {
		root, err := os.OpenRoot(dir)
		if err != nil {
			continue
		}
		f, err := root.Open(name)
		root.Close()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: log file %q is refused: it leads out of the log dir or cannot be read", api.ErrForbidden, name)
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			f.Close()
			return nil, nil, fmt.Errorf("%w: log file %q is not a regular file", api.ErrInvalid, name)
		}
		return f, st, nil
	}
	return nil, nil, fmt.Errorf("%w: no log file %q", api.ErrNotFound, name)
}

// listLogs lists the worker log files as TOPOLOGY-ID/PORT/FILE, sorted;
// topoID and port filter when not empty.
func (l logRoots) listLogs(topoID, port string) ([]string, error) {
	for _, p := range []string{topoID, port} {
		if p != "" && (strings.ContainsAny(p, "/\\\x00") || p == "." || p == "..") {
			return nil, fmt.Errorf("%w: %q is not a topology id or a port", api.ErrInvalid, p)
		}
	}
	if port != "" {
		if _, err := strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("%w: port %q is not a number", api.ErrInvalid, port)
		}
	}
	out := []string{}
	dirsIn := func(dir, only string) []string {
		ents, _ := os.ReadDir(dir)
		var names []string
		for _, e := range ents {
			if e.IsDir() && (only == "" || e.Name() == only) {
				names = append(names, e.Name())
			}
		}
		return names
	}
	for _, root := range l.workerDirs() {
		for _, topo := range dirsIn(root, topoID) {
			for _, p := range dirsIn(filepath.Join(root, topo), port) {
				ents, _ := os.ReadDir(filepath.Join(root, topo, p))
				for _, e := range ents {
					if e.Type().IsRegular() {
						out = append(out, topo+"/"+p+"/"+e.Name())
					}
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// intParam reads an optional non-negative integer query parameter.
func intParam(r *http.Request, name string, def int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%w: could not make a non-negative integer out of the query parameter %q (%q)", api.ErrInvalid, name, s)
	}
	return v, nil
}

// serveLogPage is GET /api/v1/log and /api/v1/daemonlog: length bytes
// (default 51200) from start (default: the last page) as text/plain. The
// headers X-Log-Start and X-Log-File-Length tell where the page is, for the
// next request.
func (h *apiHandler) serveLogPage(daemon bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, st, err := h.logs.openLog(r.URL.Query().Get(logFileParam), daemon)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		defer f.Close()
		length, err := intParam(r, "length", logPageBytes)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		length = min(length, maxLogPageBytes)
		start, err := intParam(r, "start", max(st.Size()-length, 0))
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		start = min(start, st.Size())
		length = min(length, st.Size()-start)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Log-Start", strconv.FormatInt(start, 10))
		w.Header().Set("X-Log-File-Length", strconv.FormatInt(st.Size(), 10))
		w.Header().Set("Content-Length", strconv.FormatInt(length, 10))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = io.Copy(w, io.NewSectionReader(f, start, length))
		}
	}
}

// serveLogDownload is GET /api/v1/download and /api/v1/daemondownload: the
// whole file as an attachment (ranges served).
func (h *apiHandler) serveLogDownload(daemon bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, st, err := h.logs.openLog(r.URL.Query().Get(logFileParam), daemon)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", st.Name()))
		http.ServeContent(w, r, "", st.ModTime(), f)
	}
}

// searchLog is GET /api/v1/search: up to num-matches (default 10) matches
// of search-string from start-byte-offset on, with 128 bytes around each,
// as Storm's logviewer answers. It scans at most 16 MiB a request;
// nextByteOffset says where to go on (null at the end of the file).
func (h *apiHandler) searchLog(r *http.Request) (any, error) {
	q := r.URL.Query()
	daemon := q.Get(isDaemonParam) == "yes"
	name := q.Get(logFileParam)
	needle := q.Get(searchParam)
	if len(needle) == 0 || len(needle) > maxSearchBytes {
		return nil, fmt.Errorf("%w: search substring must be between 1 and %d UTF-8 bytes in size (inclusive)", api.ErrInvalid, maxSearchBytes)
	}
	num, err := intParam(r, numMatchesParam, defaultNumMatch)
	if err != nil {
		return nil, err
	}
	num = min(max(num, 1), maxNumMatches)
	offset, err := intParam(r, startOffsetParam, 0)
	if err != nil {
		return nil, err
	}
	f, st, err := h.logs.openLog(name, daemon)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if offset > st.Size() {
		return nil, fmt.Errorf("%w: start-byte-offset %d is past the end of %s (%d bytes)", api.ErrInvalid, offset, name, st.Size())
	}
	// The scanned bytes, with the context before offset and after the window.
	from := max(offset-searchContext, 0)
	end := min(offset+searchWindow, st.Size())
	buf := make([]byte, min(end+maxSearchBytes, st.Size())-from) // maxSearchBytes > searchContext
	if _, err := f.ReadAt(buf, from); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	res := &api.LogSearch{SearchString: needle, StartByteOffset: offset, IsDaemon: "no", Matches: []api.LogMatch{}}
	pagePath := api.PathLog
	if daemon {
		res.IsDaemon, pagePath = "yes", api.PathDaemonLog
	}
	pos := offset
	for int64(len(res.Matches)) < num {
		i := bytes.Index(buf[pos-from:end-from+min(int64(len(needle))-1, st.Size()-end)], []byte(needle))
		if i < 0 {
			break
		}
		at := pos + int64(i)
		after := at + int64(len(needle))
		res.Matches = append(res.Matches, api.LogMatch{
			ByteOffset:   at,
			BeforeString: string(buf[max(at-searchContext, from)-from : at-from]),
			AfterString:  string(buf[after-from : min(after+searchContext, from+int64(len(buf)))-from]),
			MatchString:  needle,
			LogviewerURL: fmt.Sprintf("http://%s%s?file=%s&start=%d&length=%d", r.Host, pagePath, url.QueryEscape(name), max(at-logPageBytes/2, 0), logPageBytes),
		})
		pos = after
	}
	switch {
	case int64(len(res.Matches)) == num:
		res.NextByteOffset = &pos
	case end < st.Size():
		next := max(end-int64(len(needle))+1, pos)
		res.NextByteOffset = &next
	}
	return res, nil
}

// logRoots are the roots of opts, with their defaults.
func (n *Nimbus) logRoots(opts Options) logRoots {
	logs := workercontract.LocalDir(filepath.Dir(filepath.Dir(n.inboxDir))).LogsRoot() // inbox is {local}/nimbus/inbox
	l := logRoots{workers: opts.WorkerLogDirs, daemon: opts.DaemonLogDir}
	if len(l.workers) == 0 {
		l.workers = []string{logs}
	}
	if l.daemon == "" {
		if d, ok := n.conf["storm.log.dir"].(string); ok && d != "" {
			l.daemon = d
		} else {
			l.daemon = logs
		}
	}
	return l
}
