package daemonlog

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/daemons/config"
)

func TestTeeWritesTheFileAndTheBase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	f, err := Open(dir, NimbusFile)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	base := slog.New(slog.NewTextHandler(&stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	log := f.Tee(base).With("daemon", "nimbus")
	log.Debug("debug-line")
	log.Info("info-line")
	log.Warn("warn-line")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, NimbusFile))
	if err != nil {
		t.Fatal(err)
	}
	file := string(b)
	if !strings.Contains(file, `msg=info-line daemon=nimbus`) || !strings.Contains(file, "warn-line") || strings.Contains(file, "debug-line") {
		t.Errorf("nimbus.log:\n%s", file)
	}
	if !strings.Contains(stderr.String(), "warn-line") || strings.Contains(stderr.String(), "info-line") {
		t.Errorf("stderr keeps its own level:\n%s", stderr.String())
	}
	if st, err := os.Stat(filepath.Join(dir, NimbusFile)); err != nil || (runtime.GOOS != "windows" && st.Mode().Perm() != 0o600) {
		t.Errorf("nimbus.log mode %v %v, want 0600", st.Mode(), err)
	}
}

func TestDir(t *testing.T) {
	if d := Dir(config.Conf{}, "/data/logs"); d != "/data/logs" {
		t.Errorf("default %s", d)
	}
	if d := Dir(config.Conf{StormLogDir: "/var/log/storm"}, "/data/logs"); d != "/var/log/storm" {
		t.Errorf("storm.log.dir %s", d)
	}
	var f *File
	base := slog.New(slog.DiscardHandler)
	if f.Tee(base) != base || f.Close() != nil {
		t.Error("a nil File is not a no-op")
	}
}
