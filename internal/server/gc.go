package server

import (
	"os"
	"runtime/debug"
)

// The garbage collector's settings for serving. A desk page allocates
// about 140 KB and the live heap is small (10–20 MB), so at Go's default
// (GOGC=100) the collector ran every 70 or so requests — more than 60
// cycles a second under load, each with its stop-the-world pauses and
// assist work in the requests' own goroutines, which lengthened the tail
// of the desk's latency. 400 lets the heap grow to five times what is
// live between cycles; the soft memory limit keeps the whole of Go's
// memory within 44 MiB all the same (the collector runs sooner as it nears
// it). The limit is what SPEC §9's 100 MB for the process leaves: about
// 31 MB are the binary's own pages and SQLite's page caches and
// connections up to 15 MB more. At 64 MiB the benchmark's peak was 105–112
// MB, Go holding its whole limit; at 48 MiB 99–100.5 MB; at 44 MiB 95–97
// MB, with the desk's p99 unchanged (the live heap is about 13 MB: the
// collector still has 30 MB to fill between cycles). At 40 MiB the desk's
// p99 doubled.
const (
	servingGCPercent   = 400
	servingMemoryLimit = 44 << 20
)

// TuneGC applies the serving settings, each unless the operator set its
// environment variable (GOGC, GOMEMLIMIT), which the runtime has read.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(servingGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(servingMemoryLimit)
	}
}
