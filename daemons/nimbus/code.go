package nimbus

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/topology"
)

// Code lives in two places: uploads wait in {local}/nimbus/inbox until a
// submit moves them into {local}/nimbus/stormdist/<id>/ together with the
// topology's conf and definition; supervisors download from there.

// topologyCode is a topology's stormdist content, read once and cached.
type topologyCode struct {
	Definition *topology.Definition
	Conf       config.Conf
	// ConfSHA256 is the SHA-256 of stormconf.json, written into the
	// assignment so that supervisors notice a conf changed on rebalance.
	ConfSHA256 string
	// CodeFile is api.CodeFileBinary or api.CodeFileArchive.
	CodeFile string
	// SHA256 of the code file, computed on first use when unknown.
	SHA256 string
}

// uploadIDPattern is what Upload hands out (hex), so an id from a request can
// never name a path outside the inbox.
var uploadIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

const checksumSuffix = ".sha256"

// Upload streams code into the inbox, checking its SHA-256 against sha256Hex.
// The caller bounds the size of r; a read error (including the size limit)
// leaves nothing behind.
func (n *Nimbus) Upload(ctx context.Context, r io.Reader, sha256Hex string) (*api.UploadReply, error) {
	sha256Hex, err := checkSHA256Hex(sha256Hex)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(n.inboxDir, ".upload-*")
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	sum := sha256.New()
	size, err := io.Copy(io.MultiWriter(f, sum), &ctxReader{ctx, r})
	if err != nil {
		return nil, fmt.Errorf("upload: receive code: %w", err)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != sha256Hex {
		return nil, fmt.Errorf("upload: %w: checksum mismatch: the code received (%d bytes) has SHA-256 %s, the request announced %s", api.ErrInvalid, size, got, sha256Hex)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	id, err := n.admitUpload(f.Name(), sha256Hex)
	if err != nil {
		return nil, err
	}
	keep = true
	n.log.Info("code uploaded", "uploadId", id, "bytes", size)
	return &api.UploadReply{UploadID: id, SHA256: sha256Hex, Size: size}, nil
}

// ImportCode is Upload for a caller in this process whose code is the file
// f (a testkit test binary, at every submission). f is hard-linked into the
// inbox when it can be (same file system, and already the 0755 mode a stored
// binary gets, so that nimbus never changes the caller's file), else copied
// file to file; either way nothing crosses HTTP and nothing is hashed again.
// sha256Hex is the SHA-256 the caller computed of f, which nimbus takes on
// trust: the code stored is f's inode or a copy of it, what the caller
// hashed unless the file is rewritten in place meanwhile. f must be at its
// start.
func (n *Nimbus) ImportCode(ctx context.Context, f *os.File, sha256Hex string) (*api.UploadReply, error) {
	sha256Hex, err := checkSHA256Hex(sha256Hex)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("import code: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("import code: %w: %s is not a regular file", api.ErrInvalid, f.Name())
	}
	how := "linked"
	path, err := n.linkIntoInbox(f, fi)
	if err != nil {
		how = "copied"
		if path, err = n.copyIntoInbox(ctx, f); err != nil {
			return nil, err
		}
	}
	id, err := n.admitUpload(path, sha256Hex)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	n.log.Info("code imported", "uploadId", id, "bytes", fi.Size(), "how", how)
	return &api.UploadReply{UploadID: id, SHA256: sha256Hex, Size: fi.Size()}, nil
}

// linkIntoInbox hard-links f, a 0755 file, into the inbox under a temporary
// name and returns it.
func (n *Nimbus) linkIntoInbox(f *os.File, fi os.FileInfo) (string, error) {
	if fi.Mode().Perm() != 0o755 {
		return "", errors.New("not mode 0755")
	}
	tag, err := randomHex(8)
	if err != nil {
		return "", err
	}
	link := filepath.Join(n.inboxDir, ".import-"+tag)
	if err := os.Link(f.Name(), link); err != nil {
		return "", err // another file system, most often
	}
	if li, err := os.Stat(link); err != nil || !os.SameFile(li, fi) {
		// The path names another file than the one opened (replaced since).
		os.Remove(link)
		return "", errors.New("the file was replaced")
	}
	return link, nil
}

// copyIntoInbox copies f into the inbox under a temporary name (the kernel
// copies file to file) and returns it.
func (n *Nimbus) copyIntoInbox(ctx context.Context, f *os.File) (string, error) {
	tmp, err := os.CreateTemp(n.inboxDir, ".upload-*")
	if err != nil {
		return "", fmt.Errorf("import code: %w", err)
	}
	_, err = io.Copy(tmp, f)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("import code: copy %s: %w", f.Name(), err)
	}
	return tmp.Name(), nil
}

func randomHex(bytes int) (string, error) {
	raw := make([]byte, bytes)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return hex.EncodeToString(raw), nil
}

func checkSHA256Hex(sha256Hex string) (string, error) {
	sha256Hex = strings.ToLower(strings.TrimSpace(sha256Hex))
	if len(sha256Hex) != 64 || !isHex(sha256Hex) {
		return "", fmt.Errorf("upload: %w: the %s header must be the hex SHA-256 of the code (64 hex digits), got %q", api.ErrInvalid, api.HeaderChecksum, sha256Hex)
	}
	return sha256Hex, nil
}

// admitUpload gives the complete code file at path (in the inbox) an upload
// id: its checksum is written beside it, then it is renamed to the id.
func (n *Nimbus) admitUpload(path, sha256Hex string) (string, error) {
	id, err := randomHex(16)
	if err != nil {
		return "", fmt.Errorf("upload: make an id: %w", err)
	}
	final := filepath.Join(n.inboxDir, id)
	if err := os.WriteFile(final+checksumSuffix, []byte(sha256Hex), 0o644); err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	if err := os.Rename(path, final); err != nil {
		os.Remove(final + checksumSuffix)
		return "", fmt.Errorf("upload: %w", err)
	}
	return id, nil
}

// ctxReader stops a long upload when its request is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// checkUpload returns the inbox path of an upload after checking its checksum.
func (n *Nimbus) checkUpload(uploadID, sha256Hex string) (string, error) {
	if !uploadIDPattern.MatchString(uploadID) {
		return "", fmt.Errorf("%w: upload id %q is not one nimbus hands out: upload the code first (POST %s)", api.ErrInvalid, uploadID, api.PathUploads)
	}
	path := filepath.Join(n.inboxDir, uploadID)
	stored, err := os.ReadFile(path + checksumSuffix)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w: upload %s not found (expired after %s or never made): upload the code again", api.ErrInvalid, uploadID, n.set.inboxExpiration)
	}
	if err != nil {
		return "", fmt.Errorf("read upload %s: %w", uploadID, err)
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%w: upload %s not found: upload the code again", api.ErrInvalid, uploadID)
	}
	if want := strings.ToLower(strings.TrimSpace(sha256Hex)); want != string(stored) {
		return "", fmt.Errorf("%w: checksum mismatch: upload %s has SHA-256 %s, the submit request says %q", api.ErrInvalid, uploadID, stored, sha256Hex)
	}
	return path, nil
}

// writeStormdist moves the upload into stormdist/<id>/ with the conf and the
// definition; the directory appears whole (built under a temporary name).
// It returns the SHA-256 of the conf written.
func (n *Nimbus) writeStormdist(id, uploadPath, codeFile string, conf config.Conf, def *topology.Definition) (string, error) {
	confJSON, confSum, err := encodeConf(conf)
	if err != nil {
		return "", err
	}
	return confSum, n.writeStormdistDir(id, uploadPath, codeFile, confJSON, def)
}

func (n *Nimbus) writeStormdistDir(id, uploadPath, codeFile string, confJSON []byte, def *topology.Definition) error {
	tmp, err := os.MkdirTemp(n.distDir, ".submit-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	defJSON, err := json.MarshalIndent(def, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", api.CodeFileDefinition, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, api.CodeFileConf), confJSON, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, api.CodeFileDefinition), defJSON, 0o644); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if codeFile == api.CodeFileBinary {
		mode = 0o755
	}
	// An imported upload is the caller's own file (a hard link): leave its
	// mode alone when it is right already.
	if fi, err := os.Stat(uploadPath); err != nil {
		return err
	} else if fi.Mode().Perm() != mode {
		if err := os.Chmod(uploadPath, mode); err != nil {
			return err
		}
	}
	if err := os.Rename(uploadPath, filepath.Join(tmp, codeFile)); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(n.distDir, id)); err != nil {
		// Put the upload back so a retry can use it.
		_ = os.Rename(filepath.Join(tmp, codeFile), uploadPath)
		return err
	}
	ok = true
	os.Remove(uploadPath + checksumSuffix)
	return nil
}

// loadCode returns the cached stormdist content of a topology, reading it
// from disk the first time.
func (n *Nimbus) loadCode(id string) (*topologyCode, error) {
	n.infoMu.Lock()
	c := n.codes[id]
	n.infoMu.Unlock()
	if c != nil {
		return c, nil
	}
	dir := filepath.Join(n.distDir, id)
	c = &topologyCode{}
	confPath := filepath.Join(dir, api.CodeFileConf)
	confJSON, err := os.ReadFile(confPath)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(confJSON, &c.Conf); err != nil {
		return nil, fmt.Errorf("decode %s: %w", confPath, err)
	}
	c.ConfSHA256 = confChecksum(confJSON)
	if err := readJSONFile(filepath.Join(dir, api.CodeFileDefinition), &c.Definition); err != nil {
		return nil, err
	}
	if c.Definition == nil {
		return nil, fmt.Errorf("%s of %s is empty", api.CodeFileDefinition, id)
	}
	c.CodeFile = api.CodeFileBinary
	if _, err := os.Stat(filepath.Join(dir, api.CodeFileArchive)); err == nil {
		c.CodeFile = api.CodeFileArchive
	}
	n.infoMu.Lock()
	n.codes[id] = c
	n.infoMu.Unlock()
	return c, nil
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// hasCode reports whether stormdist/<id> holds the three files.
func (n *Nimbus) hasCode(id string) bool {
	dir := filepath.Join(n.distDir, id)
	for _, f := range []string{api.CodeFileConf, api.CodeFileDefinition} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	for _, f := range []string{api.CodeFileBinary, api.CodeFileArchive} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// CodeFile is an open file of a topology's code directory.
type CodeFile struct {
	*os.File
	// Name is the file's name in the code directory.
	Name string
	Size int64
	// SHA256 is set for the code itself.
	SHA256 string
}

// OpenCode opens one file of a topology's code for download: "stormcode"
// (which is the Flux archive stormcode.tgz for a Flux topology),
// "stormcode.tgz", "stormconf.json" or "stormtopology.json".
func (n *Nimbus) OpenCode(ctx context.Context, id, file string) (*CodeFile, error) {
	switch file {
	case api.CodeFileBinary, api.CodeFileArchive, api.CodeFileConf, api.CodeFileDefinition:
	default:
		return nil, fmt.Errorf("%w: no code file %q: ask for %s, %s or %s", api.ErrNotFound, file, api.CodeFileBinary, api.CodeFileConf, api.CodeFileDefinition)
	}
	if !validTopologyID(id) || !n.hasCode(id) {
		return nil, fmt.Errorf("%w: topology %q has no code on this nimbus", api.ErrNotFound, id)
	}
	code, err := n.loadCode(id)
	if err != nil {
		return nil, fmt.Errorf("open code of %s: %w", id, err)
	}
	name := file
	if file == api.CodeFileBinary || file == api.CodeFileArchive {
		name = code.CodeFile
	}
	f, err := os.Open(filepath.Join(n.distDir, id, name))
	if err != nil {
		return nil, fmt.Errorf("%w: open code of %s: %v", api.ErrNotFound, id, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	cf := &CodeFile{File: f, Name: name, Size: st.Size()}
	if name == code.CodeFile {
		if cf.SHA256, err = n.codeChecksum(code, f); err != nil {
			f.Close()
			return nil, fmt.Errorf("checksum code of %s: %w", id, err)
		}
	}
	return cf, nil
}

// codeChecksum returns the code's SHA-256, hashing f (then rewinding it) the
// first time after a restart.
func (n *Nimbus) codeChecksum(code *topologyCode, f *os.File) (string, error) {
	n.infoMu.Lock()
	sum := code.SHA256
	n.infoMu.Unlock()
	if sum != "" {
		return sum, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	sum = hex.EncodeToString(h.Sum(nil))
	n.infoMu.Lock()
	code.SHA256 = sum
	n.infoMu.Unlock()
	return sum, nil
}

// validTopologyID rejects ids that could escape stormdist.
func validTopologyID(id string) bool {
	return id != "" && !strings.ContainsAny(id, `/\`) && id != "." && id != ".."
}

// cleanInbox deletes uploads older than nimbus.inbox.jar.expiration.secs
// (Storm's clean-inbox).
func (n *Nimbus) cleanInbox() error {
	entries, err := os.ReadDir(n.inboxDir)
	if err != nil {
		return err
	}
	cutoff := n.clock.Now().Add(-n.set.inboxExpiration)
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if at := n.uploadedAt(e.Name(), info); at.Before(cutoff) {
			path := filepath.Join(n.inboxDir, e.Name())
			if err := n.removeInboxEntry(path); err != nil {
				// Storm's clean-inbox logs a file it could not delete and
				// goes on; the next round tries again.
				n.log.Error("could not delete an expired upload", "file", e.Name(), "err", err)
				continue
			}
			n.log.Info("deleted expired upload", "file", e.Name(), "age", n.clock.Now().Sub(at).Round(time.Second))
		}
	}
	return nil
}

// uploadedAt is when an inbox entry arrived. An imported upload is a hard
// link to the caller's file and keeps its mtime, which may be long past: a
// link in progress (.import-*) is as old as its change time, which the link
// set, and an upload as old as its checksum file, written when it was
// admitted.
func (n *Nimbus) uploadedAt(name string, info fs.FileInfo) time.Time {
	if strings.HasPrefix(name, ".import-") {
		if ctime, ok := changeTime(info); ok {
			return ctime
		}
	}
	if uploadIDPattern.MatchString(name) {
		if sidecar, err := os.Stat(filepath.Join(n.inboxDir, name+checksumSuffix)); err == nil {
			return sidecar.ModTime()
		}
	}
	return info.ModTime()
}
