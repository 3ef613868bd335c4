// Package daemonlog writes a daemon's log to its file on disk, Storm's
// nimbus.log and supervisor.log in storm.log.dir, besides where the daemon
// logs already (stderr), so that the logviewer's daemonlog API and Storm
// UI's nimbusLogLink and logLink find them.
package daemonlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/localstorm/localstorm/daemons/config"
)

// Storm's names of the daemons' log files.
const (
	NimbusFile     = "nimbus.log"
	SupervisorFile = "supervisor.log"
)

// StormLogDir is Storm's key of the daemons' log dir.
const StormLogDir = "storm.log.dir"

// Dir is the daemons' log dir: storm.log.dir when conf sets it, else
// fallback (a data dir's or local dir's logs).
func Dir(conf config.Conf, fallback string) string {
	if d, err := conf.String(StormLogDir); err == nil && d != "" {
		return d
	}
	return fallback
}

// File is a daemon's open log file.
type File struct {
	f *os.File
}

// Open opens dir/name for appending (creating both, owner-only).
func Open(dir, name string) (*File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("daemon log dir %s (storm.log.dir): %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open daemon log: %w", err)
	}
	return &File{f: f}, nil
}

// Path is the file's path.
func (f *File) Path() string { return f.f.Name() }

// Close closes the file; a nil File is closed already.
func (f *File) Close() error {
	if f == nil {
		return nil
	}
	return f.f.Close()
}

// Tee returns a logger that logs what base logs and also writes every
// record at Info or above to the file as text. A nil f gives base.
func (f *File) Tee(base *slog.Logger) *slog.Logger {
	if f == nil {
		return base
	}
	return slog.New(tee{base.Handler(), slog.NewTextHandler(f.f, &slog.HandlerOptions{Level: slog.LevelInfo})})
}

// tee sends a record to every handler that takes its level.
type tee []slog.Handler

func (t tee) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (t tee) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (t tee) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(tee, len(t))
	for i, h := range t {
		out[i] = h.WithAttrs(attrs)
	}
	return out
}

func (t tee) WithGroup(name string) slog.Handler {
	out := make(tee, len(t))
	for i, h := range t {
		out[i] = h.WithGroup(name)
	}
	return out
}
