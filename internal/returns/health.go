package returns

import "time"

// SyncProblem is why the last call to the returns platform failed, as
// order cards word it.
type SyncProblem string

const (
	// ProblemDown: the platform did not answer (an outage, 5xx, a timeout,
	// the circuit breaker open).
	ProblemDown SyncProblem = "down"
	// ProblemRateLimited: the platform refused calls for their number
	// (a 429 storm).
	ProblemRateLimited SyncProblem = "rate_limited"
	// ProblemKeyRefused: the platform refused the shop's API key (revoked,
	// or without the scope).
	ProblemKeyRefused SyncProblem = "key_refused"
	// ProblemOther: any other failure.
	ProblemOther SyncProblem = "other"
)

// SyncProblems are every problem, for the desk's wording.
var SyncProblems = []SyncProblem{ProblemDown, ProblemRateLimited, ProblemKeyRefused, ProblemOther}

// SyncHealth is what hubdesk last learned about a shop's connection to
// its returns platform (Loop), for the notice beside order cards: while
// the platform is down, limiting or refusing the key, the cards keep
// showing the returns as last stored, with their age, and say why they
// may be behind. The zero value is a healthy connection (or none).
type SyncHealth struct {
	// Problem is why the last call failed; "" when the last call
	// succeeded (or none was made).
	Problem SyncProblem
	// FailingSince is when the last call failed; LastOK when one last
	// succeeded (zero: never).
	FailingSince time.Time
	LastOK       time.Time
}

// Failing reports whether the cards should say the platform is failing.
func (h SyncHealth) Failing() bool { return h.Problem != "" }
