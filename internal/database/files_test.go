//go:build unix

package database_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
)

// permissiveUmask clears the umask for the test, so file modes show what
// the code asks for rather than what the machine's umask happens to allow.
func permissiveUmask(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
}

func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	permissiveUmask(t)
	for _, existingDir := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "data")
		if existingDir {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		db, err := database.Open(context.Background(), "", dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"hubdesk.db", "hubdesk.db-wal", "hubdesk.db-shm"} {
			info, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o600 {
				t.Errorf("existing directory %v: %s has mode %o, want 600", existingDir, name, perm)
			}
		}
		if !existingDir {
			if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
				t.Errorf("new data directory: %v %v, want mode 700", info.Mode(), err)
			}
		}
		db.Close()
	}
}

func TestSQLiteFileLeftOpenToOthersIsTightened(t *testing.T) {
	permissiveUmask(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "hubdesk.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v, want 600", info.Mode(), err)
	}
}
