package server

import (
	"math"
	"runtime/debug"
	"testing"
)

// TuneGC sets the serving collector's settings unless the operator's GOGC
// and GOMEMLIMIT said otherwise.
func TestTuneGC(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	defer func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) }()

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	TuneGC()
	if got := debug.SetGCPercent(100); got != servingGCPercent {
		t.Errorf("GC percent %d, want %d", got, servingGCPercent)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != servingMemoryLimit {
		t.Errorf("memory limit %d, want %d", got, servingMemoryLimit)
	}

	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	TuneGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set, yet the GC percent became %d", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set, yet the memory limit became %d", got)
	}
}
