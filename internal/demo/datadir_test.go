package demo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestClaimDataDir(t *testing.T) {
	fresh := filepath.Join(t.TempDir(), "new")
	if err := ClaimDataDir(fresh); err != nil || !IsDataDir(fresh) {
		t.Fatalf("a new directory: %v, marked %v", err, IsDataDir(fresh))
	}
	if err := ClaimDataDir(fresh); err != nil {
		t.Fatalf("the demo's own directory again: %v", err)
	}
	empty := t.TempDir()
	if err := ClaimDataDir(empty); err != nil || !IsDataDir(empty) {
		t.Fatalf("an empty directory: %v", err)
	}
	for _, name := range productionFiles {
		prod := t.TempDir()
		if err := os.WriteFile(filepath.Join(prod, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := ClaimDataDir(prod); !errors.Is(err, ErrNotDemoDir) {
			t.Errorf("a directory with %s: %v, want ErrNotDemoDir", name, err)
		}
		if IsDataDir(prod) {
			t.Errorf("a directory with %s was marked as the demo's", name)
		}
	}
}
