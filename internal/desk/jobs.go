package desk

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/jobs"
)

type jobsPage struct {
	Jobs    []jobs.Job
	Next    string
	Retried bool
}

// Jobs lists the shop's background jobs that failed — waiting for their
// next attempt, or given up — with their errors and a Retry button.
func (d *Desk) Jobs(w http.ResponseWriter, r *http.Request) {
	p, ok := d.listPage(w, r)
	if !ok {
		return
	}
	failed, next, err := d.JobQueue.List(r.Context(), auth.UserFrom(r.Context()).ShopID, jobs.Failed, p)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.page(w, r, http.StatusOK, "jobs", "Failed jobs", jobsPage{Jobs: failed, Next: next, Retried: r.URL.Query().Has("retried")})
}

// RetryJob runs one of the shop's failed jobs again now.
func (d *Desk) RetryJob(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		d.NotFound(w, r)
		return
	}
	_, err = d.JobQueue.Retry(r.Context(), auth.UserFrom(r.Context()).ShopID, id)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		d.NotFound(w, r)
	case err != nil:
		d.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/settings/jobs?retried=1", http.StatusSeeOther)
	}
}
