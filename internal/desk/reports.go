package desk

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// reportPeriods are the periods the reports page offers, in days.
var reportPeriods = []int{7, 30, 90}

// reportsPage is the helpdesk report of one period.
type reportsPage struct {
	Days    int
	Periods []int
	Report  *ticket.Report
}

// Reports shows the helpdesk's figures for the last 7, 30 or 90 days:
// tickets opened and closed, first-response and resolution times (average
// and median), for the shop and per agent.
func (d *Desk) Reports(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	days := 30
	if n, err := strconv.Atoi(r.URL.Query().Get("days")); err == nil {
		for _, p := range reportPeriods {
			if n == p {
				days = n
			}
		}
	}
	rep, err := d.Tickets.Report(r.Context(), u.ShopID, days)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.page(w, r, http.StatusOK, "reports", staffLocale.T("reports.title"), reportsPage{days, reportPeriods, rep})
}

// duration words a time span for the reports: minutes under an hour, hours
// and minutes under a day, then days and hours. Zero (nothing measured)
// is a dash.
func duration(l *locale.Locale, d time.Duration, measured int) string {
	if measured == 0 {
		return l.T("reports.none")
	}
	m := int(d.Round(time.Minute) / time.Minute)
	switch {
	case m < 60:
		return l.T("duration.minutes", "n", l.Number(int64(m)))
	case m < 24*60 && m%60 == 0:
		return l.T("duration.hours", "n", l.Number(int64(m/60)))
	case m < 24*60:
		return l.T("duration.hours_minutes", "h", l.Number(int64(m/60)), "m", l.Number(int64(m%60)))
	}
	h := m / 60
	return l.T("duration.days_hours", "d", l.Number(int64(h/24)), "h", l.Number(int64(h%24)))
}
