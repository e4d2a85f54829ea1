package loopsync

import (
	"context"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/connection"
)

// RunRefreshReturn does the work of a refresh job for args in this
// process, as its worker would, without waiting for the queue to fetch it.
func (s *Syncer) RunRefreshReturn(ctx context.Context, args RefreshReturnArgs) error {
	return (&refreshReturnWorker{s: s}).Work(ctx, &river.Job[RefreshReturnArgs]{JobRow: &rivertype.JobRow{}, Args: args})
}

// Connections is the process's connection store (and its cache).
func (s *Syncer) Connections() *connection.Store { return s.opts.Connections }
