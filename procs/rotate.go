package procs

import (
	"fmt"
	"os"
	"sync"
)

// rotatingFile is a log file bounded in size and count: when a write would
// take it past maxBytes it is renamed to name.1 (name.1 to name.2, ...) and a
// new one is started; files beyond name.<maxFiles-1> are deleted. Writes go
// straight to the file (no buffering), so a crash loses nothing written.
type rotatingFile struct {
	mu       sync.Mutex
	name     string
	maxBytes int64
	maxFiles int
	f        *os.File
	size     int64
}

func newRotatingFile(name string, maxBytes int64, maxFiles int) (*rotatingFile, error) {
	r := &rotatingFile{name: name, maxBytes: maxBytes, maxFiles: maxFiles}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// open appends to an existing log (a relaunched worker continues its slot's log).
func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log file: %w", err)
	}
	r.f, r.size = f, st.Size()
	return nil
}

// Write writes all of b, rotating as often as needed so that no file grows
// beyond maxBytes.
func (r *rotatingFile) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	written := 0
	for len(b) > 0 {
		room := r.maxBytes - r.size
		if room <= 0 {
			if err := r.rotate(); err != nil {
				return written, err
			}
			continue
		}
		chunk := b
		if int64(len(chunk)) > room {
			chunk = chunk[:room]
		}
		n, err := r.f.Write(chunk)
		written += n
		r.size += int64(n)
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

func (r *rotatingFile) rotate() error {
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("rotate %s: close: %w", r.name, err)
	}
	r.f = nil
	if r.maxFiles <= 1 {
		if err := os.Remove(r.name); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("rotate %s: %w", r.name, err)
		}
		return r.open()
	}
	os.Remove(rotatedName(r.name, r.maxFiles-1))
	for i := r.maxFiles - 2; i >= 1; i-- {
		if err := os.Rename(rotatedName(r.name, i), rotatedName(r.name, i+1)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("rotate %s: %w", r.name, err)
		}
	}
	if err := os.Rename(r.name, rotatedName(r.name, 1)); err != nil {
		return fmt.Errorf("rotate %s: %w", r.name, err)
	}
	return r.open()
}

func rotatedName(name string, i int) string { return fmt.Sprintf("%s.%d", name, i) }

func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
