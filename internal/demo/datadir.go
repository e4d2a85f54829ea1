package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// MarkerFile, in a data directory, marks it as the demo's: its database
// holds the demo shop and the published demo logins.
const MarkerFile = "DEMO-DATA-NOT-FOR-PRODUCTION"

const markerText = "This directory holds a hubdesk demo database. Its logins are published\n" +
	"in the README, so `hubdesk serve` refuses it. Delete the directory when done.\n"

// productionFiles are what hubdesk keeps in a data directory; one of them
// without the marker means the directory belongs to a real installation.
var productionFiles = []string{"hubdesk.db", "hubdesk.db-wal", "secret.key"}

// ErrNotDemoDir means a directory already holds data that is not the
// demo's, which the demo must never write into.
var ErrNotDemoDir = errors.New("holds a hubdesk database that is not the demo's")

// IsDataDir reports whether dir carries the demo marker.
func IsDataDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, MarkerFile))
	return err == nil
}

// ClaimDataDir makes dir the demo's: it is created (0700) if missing and
// marked, unless it already holds a database or secret key that is not
// the demo's.
func ClaimDataDir(dir string) error {
	if IsDataDir(dir) {
		return nil
	}
	for _, name := range productionFiles {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("data directory %s %w (found %s); give the demo a new or empty directory", dir, ErrNotDemoDir, name)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create demo data directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, MarkerFile), []byte(markerText), 0o600); err != nil {
		return fmt.Errorf("mark demo data directory: %w", err)
	}
	return nil
}
