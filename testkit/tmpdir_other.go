//go:build !linux

package testkit

import "testing"

// clusterBaseDir returns t.TempDir(): macOS has no memory file system that
// a user can write to without creating one (a RAM disk needs hdiutil and a
// mount), so a test cluster's files go to the temporary dir, on APFS.
func clusterBaseDir(t testing.TB) string {
	t.Helper()
	return t.TempDir()
}
