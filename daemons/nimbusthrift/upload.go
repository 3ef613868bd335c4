package nimbusthrift

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

// Storm's chunked upload: beginFileUpload returns a location (Storm's is the
// path of a jar in nimbus's inbox), uploadChunk appends to it, and
// finishFileUpload closes it; submitTopology then names the location. Here
// the file is spooled and hashed as it comes; it reaches nimbus's inbox at
// submit, through the Backend's Upload like any other code.

// maxUploadSessions bounds the uploads a nimbus keeps at once.
const maxUploadSessions = 64

type upload struct {
	f        *os.File
	sum      hash.Hash
	size     int64
	finished bool
}

func (u *upload) sha256Hex() string { return hex.EncodeToString(u.sum.Sum(nil)) }

// BeginFileUpload is beginFileUpload.
func (h *Handler) BeginFileUpload(ctx context.Context) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.uploads) >= maxUploadSessions {
		return "", fmt.Errorf("too many uploads in progress (%d): finish or submit some first", maxUploadSessions)
	}
	f, err := os.CreateTemp(h.spoolDir, ".thrift-upload-*.jar")
	if err != nil {
		return "", fmt.Errorf("begin upload: %w", err)
	}
	location := filepath.Join(filepath.Dir(f.Name()), "stormjar-"+uuid.NewString()+".jar")
	h.uploads[location] = &upload{f: f, sum: sha256.New()}
	return location, nil
}

// openUpload returns the upload at location, still open for chunks.
func (h *Handler) openUpload(location string) (*upload, error) {
	u := h.uploads[location]
	switch {
	case u == nil:
		return nil, fmt.Errorf("File %s does not exist", location)
	case u.finished:
		return nil, fmt.Errorf("upload %s is already finished", location)
	}
	return u, nil
}

// UploadChunk is uploadChunk.
func (h *Handler) UploadChunk(ctx context.Context, location string, chunk []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	u, err := h.openUpload(location)
	if err != nil {
		return err
	}
	if h.maxBytes > 0 && u.size+int64(len(chunk)) > h.maxBytes {
		h.dropUpload(location)
		return fmt.Errorf("upload %s: more than nimbus.max.upload.bytes (%d bytes); the upload is dropped", location, h.maxBytes)
	}
	if _, err := u.f.Write(chunk); err != nil {
		h.dropUpload(location)
		return fmt.Errorf("upload %s: %w; the upload is dropped", location, err)
	}
	u.sum.Write(chunk)
	u.size += int64(len(chunk))
	return nil
}

// FinishFileUpload is finishFileUpload.
func (h *Handler) FinishFileUpload(ctx context.Context, location string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	u, err := h.openUpload(location)
	if err != nil {
		return err
	}
	u.finished = true
	return nil
}

// takeUpload removes a finished upload from the sessions and returns it; the
// caller removes its file.
func (h *Handler) takeUpload(location string) (*upload, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.uploads[location]
	if u == nil || !u.finished {
		return nil, fmt.Errorf("no finished upload at %s: upload the jar with beginFileUpload, uploadChunk and finishFileUpload first", location)
	}
	delete(h.uploads, location)
	return u, nil
}

func (u *upload) remove() {
	u.f.Close()
	os.Remove(u.f.Name())
}

// dropUpload forgets an upload and removes its file. Called under mu.
func (h *Handler) dropUpload(location string) {
	if u := h.uploads[location]; u != nil {
		u.remove()
		delete(h.uploads, location)
	}
}

// dropUploads forgets every upload (the server is closing).
func (h *Handler) dropUploads() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for location := range h.uploads {
		h.dropUpload(location)
	}
}

// isUploadLocation tells a location this handler gave out.
func isUploadLocation(location string) bool {
	return strings.HasPrefix(filepath.Base(location), "stormjar-")
}
