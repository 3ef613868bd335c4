package nimbusthrift

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
)

// Storm's download of a topology's code (Storm 1.x's beginFileDownload and
// downloadChunk, which Storm 2.x keeps): beginFileDownload opens a file by
// the path Storm's clients use (the topology's code directory, from its
// assignment, and a file name) and returns a session id; downloadChunk
// returns the next chunk of it, and an empty chunk at the end, which also
// ends the session.

// Bounds of downloads: sessions kept at once, how long an idle one lives
// (Storm's nimbus.file.copy.expiration.secs, 600), and the chunk size
// (Storm's storm.blobstore.inputstream.buffer.size.bytes, 65536).
const (
	maxDownloadSessions = 64
	downloadIdleTimeout = 600 * time.Second
	downloadChunkBytes  = 64 << 10
)

type download struct {
	r        io.ReadCloser
	lastUsed time.Time
}

// BeginFileDownload is beginFileDownload.
func (h *Handler) BeginFileDownload(ctx context.Context, file string) (string, error) {
	h.mu.Lock()
	h.expireDownloads(time.Now())
	full := len(h.downloads) >= maxDownloadSessions
	h.mu.Unlock()
	if full {
		return "", fmt.Errorf("too many downloads in progress (%d): read them to their end first", maxDownloadSessions)
	}
	r, err := h.b.OpenCodePath(ctx, file)
	if err != nil {
		return "", err
	}
	id := uuid.NewString()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.downloads[id] = &download{r: r, lastUsed: time.Now()}
	return id, nil
}

// DownloadChunk is downloadChunk: the next chunk of the session's file;
// an empty one at its end.
func (h *Handler) DownloadChunk(ctx context.Context, id string) ([]byte, error) {
	h.mu.Lock()
	d := h.downloads[id]
	h.mu.Unlock()
	if d == nil {
		return nil, fmt.Errorf("Could not find input stream for id %s: begin a download with beginFileDownload (sessions end at the file's end and after %s idle)", id, downloadIdleTimeout)
	}
	buf := make([]byte, downloadChunkBytes)
	n, err := io.ReadFull(d.r, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if n == 0 {
			h.endDownload(id)
		}
	case err != nil:
		h.endDownload(id)
		return nil, fmt.Errorf("download %s: %w", id, err)
	}
	h.mu.Lock()
	d.lastUsed = time.Now()
	h.mu.Unlock()
	return buf[:n], nil
}

func (h *Handler) endDownload(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d := h.downloads[id]; d != nil {
		d.r.Close()
		delete(h.downloads, id)
	}
}

// expireDownloads ends the sessions idle since before now-downloadIdleTimeout.
// Called under mu.
func (h *Handler) expireDownloads(now time.Time) {
	for id, d := range h.downloads {
		if now.Sub(d.lastUsed) > downloadIdleTimeout {
			d.r.Close()
			delete(h.downloads, id)
		}
	}
}

// dropDownloads ends every session (the server is closing).
func (h *Handler) dropDownloads() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expireDownloads(time.Now().Add(2 * downloadIdleTimeout))
}
