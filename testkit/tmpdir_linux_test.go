package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestClusterBaseDir(t *testing.T) {
	var dir string
	t.Run("in use", func(t *testing.T) {
		dir = clusterBaseDir(t)
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
			t.Fatalf("the dir is not writable: %v", err)
		}
		var st syscall.Statfs_t
		onShm := syscall.Statfs(shmDir, &st) == nil && st.Type == tmpfsMagic
		if got := strings.HasPrefix(dir, shmDir+"/"); got != onShm {
			t.Errorf("dir %s under %s = %v, want %v (a tmpfs is mounted there: %v)", dir, shmDir, got, onShm, onShm)
		}
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("dir %s still there after its test ended (stat: %v)", dir, err)
	}
}
