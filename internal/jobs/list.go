package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/database"
)

// The states staff ask for, each a group of River's states.
var (
	Queued  = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending}
	Running = []rivertype.JobState{rivertype.JobStateRunning}
	Done    = []rivertype.JobState{rivertype.JobStateCompleted}
	// Dead: jobs that gave up after their attempts, and jobs cancelled
	// because no attempt could succeed (intake.Permanent: a mail that
	// cannot be read).
	Dead = []rivertype.JobState{rivertype.JobStateDiscarded, rivertype.JobStateCancelled}
	// Failed is what needs a look: jobs that failed and wait for their
	// next attempt, and jobs that gave up.
	Failed = []rivertype.JobState{rivertype.JobStateRetryable, rivertype.JobStateDiscarded, rivertype.JobStateCancelled}
)

// StatesNamed are the groups the API's ?state= names.
var StatesNamed = map[string][]rivertype.JobState{"queued": Queued, "running": Running, "done": Done, "dead": Dead}

// Job is what staff see of a job.
type Job struct {
	ID          int64
	Kind        string
	State       rivertype.JobState
	Attempt     int
	MaxAttempts int
	Errors      []AttemptError // oldest first
	CreatedAt   time.Time
	ScheduledAt time.Time // when it runs (next)
	FinalizedAt *time.Time
}

// AttemptError is one failed attempt.
type AttemptError struct {
	Attempt int
	At      time.Time
	Error   string
}

// List returns a page of shop's jobs in states, newest first, and the
// cursor of the next page ("" at the end).
func (q *Queue) List(ctx context.Context, shop int64, states []rivertype.JobState, page database.Page) ([]Job, string, error) {
	params := river.NewJobListParams().
		TagsAny(shopTag(shop)).
		States(states...).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).
		First(page.Size() + 1)
	if page.After != nil {
		params = params.After(river.JobListCursorFromJob(&rivertype.JobRow{ID: page.After.ID}))
	}
	res, err := q.tx.JobList(ctx, params)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	rows := res.Jobs
	next := ""
	if len(rows) > page.Size() {
		rows = rows[:page.Size()]
		next = database.EncodeCursor(0, rows[len(rows)-1].ID)
	}
	jobs := make([]Job, len(rows))
	for i, r := range rows {
		jobs[i] = toJob(r)
	}
	return jobs, next, nil
}

// Retry makes one of shop's jobs that failed or gave up run again now
// (it keeps its errors). A job of another shop is ErrNotFound.
func (q *Queue) Retry(ctx context.Context, shop, id int64) (Job, error) {
	row, err := q.tx.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) || (err == nil && !slices.Contains(row.Tags, shopTag(shop))) {
		return Job{}, ErrNotFound
	}
	if err != nil {
		return Job{}, fmt.Errorf("retry job %d: %w", id, err)
	}
	if row, err = q.tx.JobRetry(ctx, id); err != nil {
		return Job{}, fmt.Errorf("retry job %d: %w", id, err)
	}
	return toJob(row), nil
}

func toJob(r *rivertype.JobRow) Job {
	j := Job{ID: r.ID, Kind: r.Kind, State: r.State, Attempt: r.Attempt, MaxAttempts: r.MaxAttempts,
		CreatedAt: r.CreatedAt, ScheduledAt: r.ScheduledAt, FinalizedAt: r.FinalizedAt}
	for _, e := range r.Errors {
		j.Errors = append(j.Errors, AttemptError{Attempt: e.Attempt, At: e.At, Error: e.Error})
	}
	return j
}
