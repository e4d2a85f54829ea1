package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/jobs"
)

type jobJSON struct {
	ID          int64             `json:"id"`
	Kind        string            `json:"kind"`
	State       string            `json:"state"`
	Attempt     int               `json:"attempt"`
	MaxAttempts int               `json:"max_attempts"`
	Errors      []jobAttemptError `json:"errors"`
	CreatedAt   time.Time         `json:"created_at"`
	ScheduledAt time.Time         `json:"scheduled_at"`
	FinalizedAt *time.Time        `json:"finalized_at"`
}

type jobAttemptError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
}

// jobStates are the groups ?state= names, in the order a job passes them.
var jobStates = []string{"queued", "running", "done", "dead"}

// ListJobs lists the shop's background jobs in one state group, newest
// first: queued (waiting, including failed ones waiting for their next
// attempt), running, done, or dead (gave up after their last attempt).
func (a *API) ListJobs(w http.ResponseWriter, r *http.Request) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return
	}
	state := r.URL.Query().Get("state")
	if !slices.Contains(jobStates, state) {
		a.respond(w, r, httpkit.BadRequest("state", "must be one of queued, running, done, dead"))
		return
	}
	p, bad := httpkit.ParsePage(r)
	if bad != nil {
		httpkit.WriteError(w, bad)
		return
	}
	list, next, err := a.jobs.List(r.Context(), shopID, jobs.StatesNamed[state], p)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	writeList(w, list, next, toJobJSON)
}

func toJobJSON(j jobs.Job) jobJSON {
	out := jobJSON{ID: j.ID, Kind: j.Kind, State: stateGroup(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		Errors: make([]jobAttemptError, len(j.Errors)), CreatedAt: j.CreatedAt.UTC(), ScheduledAt: j.ScheduledAt.UTC()}
	if j.FinalizedAt != nil {
		at := j.FinalizedAt.UTC()
		out.FinalizedAt = &at
	}
	for i, e := range j.Errors {
		out.Errors[i] = jobAttemptError{Attempt: e.Attempt, At: e.At.UTC(), Error: e.Error}
	}
	return out
}

// stateGroup names the group of River's state s.
func stateGroup(s rivertype.JobState) string {
	for _, name := range jobStates {
		if slices.Contains(jobs.StatesNamed[name], s) {
			return name
		}
	}
	return string(s)
}
