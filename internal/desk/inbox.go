package desk

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
	"github.com/hubdesk/hubdesk/internal/web"
)

// The data of the agent inbox (the ticket list).
type (
	inboxPage struct {
		Helpdesk helpdeskNotice
		Scope    ticket.InboxScope
		Status   ticket.Status
		Sort     ticket.InboxSort
		Rows     []inboxRow
		// The side navigation: views (with counts of open tickets),
		// statuses, tags and sorts, each link keeping the other choices.
		Views, Statuses, Tags, Sorts []inboxLink
		Pager                        pagerLink
		Words                        inboxWords
		// Back is this page's address, where "Mark as unread" returns.
		Back string
		// Query is the search's words: when set, the rows are the tickets
		// matching them, best match first, narrowed by status only.
		Query string
	}
	// inboxRow is one ticket of the list, worded. It is flat on purpose:
	// templates find fields of embedded structs by a slow reflective
	// search, which cost a third of the page's rendering.
	inboxRow struct {
		ID                                     int64
		Subject, RequesterName, RequesterEmail string
		Preview                                string
		Assignee                               string // "" when unassigned
		Tags                                   []string
		Unread                                 bool
		Status                                 badge
		// Waiting is "waiting 3 h" while the shopper waits; "" otherwise,
		// when the row shows LastActivity instead.
		Waiting, LastActivity string
	}
	// inboxWords are the words every row repeats, looked up once a page.
	inboxWords struct {
		Unread, Unassigned, LastActivity, MarkUnread string
	}
	// inboxLink is one entry of the inbox navigation. Label is already
	// worded (a tag's name is its own label); Count < 0 shows none.
	inboxLink struct {
		Label   string
		URL     string
		Count   int
		Current bool
	}
)

// inboxQuery is what the inbox's address asks for.
type inboxQuery struct {
	path  string // /tickets, or /tickets/spam
	scope ticket.InboxScope
	view  ticket.InboxView
	sort  ticket.InboxSort
	limit int    // a page size asked for, kept in the next page's link; 0: the default
	text  string // the search's words; "" lists the view
}

// url is the inbox address of q; cursor is added when not empty.
func (q inboxQuery) url(cursor string) string {
	v := url.Values{}
	if q.scope != ticket.ScopeAll && q.scope != ticket.ScopeSpam {
		v.Set("view", string(q.scope))
	}
	if q.view.Status != "" {
		v.Set("status", string(q.view.Status))
	}
	if q.view.TagID != 0 {
		v.Set("tag", strconv.FormatInt(q.view.TagID, 10))
	}
	if q.sort != ticket.SortNewest {
		v.Set("sort", string(q.sort))
	}
	if q.text != "" {
		v.Set("q", q.text)
	}
	if cursor != "" {
		if q.limit > 0 {
			v.Set("limit", strconv.Itoa(q.limit))
		}
		v.Set("cursor", cursor)
	}
	if len(v) == 0 {
		return q.path
	}
	return q.path + "?" + v.Encode()
}

// parseInbox reads the view, status, tag and sort from the address. Values
// the inbox does not know fall back to the defaults (all, any status, any
// tag, newest activity) rather than failing the page.
func parseInbox(r *http.Request, spam bool) inboxQuery {
	q := r.URL.Query()
	out := inboxQuery{path: "/tickets", scope: ticket.ScopeAll, sort: ticket.InboxSort(q.Get("sort"))}
	if spam {
		out.path, out.scope = "/tickets/spam", ticket.ScopeSpam
	} else if s := ticket.InboxScope(q.Get("view")); s == ticket.ScopeMine || s == ticket.ScopeUnassigned {
		out.scope = s
	}
	if !out.sort.Valid() {
		out.sort = ticket.SortNewest
	}
	if st := ticket.Status(q.Get("status")); st.Valid() {
		out.view.Status = st
	}
	if id, err := strconv.ParseInt(q.Get("tag"), 10, 64); err == nil && id > 0 {
		out.view.TagID = id
	}
	out.view.Scope = out.scope
	out.text = strings.TrimSpace(q.Get("q"))
	return out
}

// List is the agent inbox: the views Mine, Unassigned and All (and Spam
// for managers, on its own route), narrowed by status and tag, sorted by
// the longest wait or the newest activity, a keyset page at a time. The
// page and its navigation are read in one batch.
func (p *TicketPages) List(w http.ResponseWriter, r *http.Request) { p.inbox(w, r, false) }

// Spam lists the tickets marked as spam, which no other view shows.
func (p *TicketPages) Spam(w http.ResponseWriter, r *http.Request) { p.inbox(w, r, true) }

func (p *TicketPages) inbox(w http.ResponseWriter, r *http.Request, spam bool) {
	u := auth.UserFrom(r.Context())
	page, ok := p.listPage(w, r)
	if !ok {
		return
	}
	q := parseInbox(r, spam)
	q.limit = page.Limit
	if q.text != "" && !spam {
		p.search(w, r, q, page)
		return
	}
	f := &frame{}
	res, err := p.Tickets.InboxWithNav(r.Context(), u.ShopID, u.ID, q.view, q.sort, page, readFrameIn(u, f))
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	data := inboxPage{Helpdesk: p.helpdeskOff(r), Scope: q.scope, Status: q.view.Status, Sort: q.sort, Back: q.url(r.URL.Query().Get("cursor"))}
	data.Rows = inboxRows(staffLocale, res.Rows, res.At)
	data.Words = newInboxWords(staffLocale)
	if res.Next != "" {
		data.Pager = pagerLink{URL: q.url(res.Next), LabelKey: "pager.next"}
	}
	data.Views, data.Statuses, data.Tags, data.Sorts = inboxNavigation(staffLocale, q, res.Nav, u.Role.AtLeast(user.RoleManager))
	p.pageIn(w, r, http.StatusOK, "tickets", staffLocale.T("inbox.title"), data, f)
}

// search is the inbox showing the tickets that match the words, best
// match first (ticket.Store.Search, served by the full-text index), a
// keyset page at a time. Only the status narrows a search; the views and
// tags lead back to the lists.
func (p *TicketPages) search(w http.ResponseWriter, r *http.Request, q inboxQuery, page database.Page) {
	u := auth.UserFrom(r.Context())
	found, next, err := p.Tickets.Search(r.Context(), u.ShopID, q.text, ticket.Filter{Status: q.view.Status}, page)
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	nav, err := p.Tickets.CachedNav(r.Context(), u.ShopID, u.ID)
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	rows := make([]ticket.InboxRow, len(found))
	for i, t := range found {
		rows[i] = ticket.InboxRow{Ticket: *t, Preview: t.Preview, WaitingSince: t.WaitingSince}
	}
	data := inboxPage{Helpdesk: p.helpdeskOff(r), Scope: q.scope, Status: q.view.Status, Sort: q.sort, Back: q.url(r.URL.Query().Get("cursor")),
		Query: q.text, Rows: inboxRows(staffLocale, rows, p.now().UTC()), Words: newInboxWords(staffLocale)}
	if next != "" {
		data.Pager = pagerLink{URL: q.url(next), LabelKey: "pager.next"}
	}
	data.Views, data.Statuses, data.Tags, data.Sorts = inboxNavigation(staffLocale, q, nav, u.Role.AtLeast(user.RoleManager))
	p.page(w, r, http.StatusOK, "tickets", staffLocale.T("inbox.title"), data)
}

// inboxRows words the store's rows for the list, at the time now.
func inboxRows(l *locale.Locale, rows []ticket.InboxRow, now time.Time) []inboxRow {
	out := make([]inboxRow, len(rows))
	for i, r := range rows {
		out[i] = inboxRow{ID: r.ID, Subject: r.Subject, RequesterName: r.RequesterName, RequesterEmail: r.RequesterEmail,
			Preview: r.Preview, Assignee: r.AssigneeName, Tags: r.Tags, Unread: r.Unread, Status: newBadge(l, "ticket", r.Status),
			Waiting: waitingFor(l, r.WaitingSince, now)}
		if out[i].Waiting == "" {
			out[i].LastActivity = l.DateTime(r.LastActivityAt)
		}
	}
	return out
}

func newInboxWords(l *locale.Locale) inboxWords {
	return inboxWords{Unread: l.T("inbox.unread"), Unassigned: l.T("inbox.unassigned"), LastActivity: l.T("inbox.last_activity"),
		MarkUnread: l.T("inbox.mark_unread")}
}

// inboxNavigation builds the inbox's links from the current query: each
// link changes one choice and keeps the others; a new choice starts from
// the first page.
func inboxNavigation(l *locale.Locale, q inboxQuery, nav ticket.InboxNav, canSeeSpam bool) (views, statuses, tags, sorts []inboxLink) {
	with := func(change func(*inboxQuery)) string {
		c := q
		change(&c)
		return c.url("")
	}
	scope := func(s ticket.InboxScope, count int) inboxLink {
		return inboxLink{Label: l.T("inbox.view." + string(s)), Count: count, Current: q.scope == s && q.text == "", URL: with(func(c *inboxQuery) {
			c.path, c.scope, c.view.Scope, c.text = "/tickets", s, s, ""
		})}
	}
	views = []inboxLink{scope(ticket.ScopeMine, nav.Counts.Mine), scope(ticket.ScopeUnassigned, nav.Counts.Unassigned), scope(ticket.ScopeAll, nav.Counts.All)}
	if canSeeSpam {
		views = append(views, inboxLink{Label: l.T("inbox.view.spam"), Count: -1, Current: q.scope == ticket.ScopeSpam,
			URL: with(func(c *inboxQuery) {
				c.path, c.scope, c.view.Scope, c.text = "/tickets/spam", ticket.ScopeSpam, ticket.ScopeSpam, ""
			})})
	}
	statuses = append(statuses, inboxLink{Label: l.T("inbox.status.any"), Count: -1, Current: q.view.Status == "",
		URL: with(func(c *inboxQuery) { c.view.Status = "" })})
	counts := map[ticket.Status]int{ticket.StatusOpen: nav.Counts.Open, ticket.StatusPending: nav.Counts.Pending, ticket.StatusClosed: -1}
	for _, st := range ticketStatuses {
		statuses = append(statuses, inboxLink{Label: label(l, "ticket.status", st), Count: counts[st], Current: q.view.Status == st,
			URL: with(func(c *inboxQuery) { c.view.Status = st })})
	}
	if len(nav.Tags) > 0 {
		tags = append(tags, inboxLink{Label: l.T("inbox.tag.any"), Count: -1, Current: q.view.TagID == 0,
			URL: with(func(c *inboxQuery) { c.view.TagID, c.text = 0, "" })})
	}
	for _, tg := range nav.Tags {
		tags = append(tags, inboxLink{Label: tg.Name, Count: -1, Current: q.view.TagID == tg.ID,
			URL: with(func(c *inboxQuery) { c.view.TagID, c.text = tg.ID, "" })})
	}
	for _, s := range []ticket.InboxSort{ticket.SortWaiting, ticket.SortNewest} {
		sorts = append(sorts, inboxLink{Label: l.T("inbox.sort." + string(s)), Count: -1, Current: q.sort == s,
			URL: with(func(c *inboxQuery) { c.sort = s })})
	}
	return views, statuses, tags, sorts
}

// waitingFor words how long a shopper has waited: minutes under an hour,
// hours under two days, then days. "" when nobody waits.
func waitingFor(l *locale.Locale, since *time.Time, now time.Time) string {
	if since == nil {
		return ""
	}
	d := max(now.Sub(*since), 0)
	switch {
	case d < time.Hour:
		return l.N("inbox.waiting.minutes", max(int(d/time.Minute), 1))
	case d < 48*time.Hour:
		return l.N("inbox.waiting.hours", int(d/time.Hour))
	}
	return l.N("inbox.waiting.days", int(d/(24*time.Hour)))
}

// MarkUnread makes the ticket unread again for the agent, then goes back
// to the inbox page the form was on.
func (p *TicketPages) MarkUnread(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		p.NotFound(w, r)
		return
	}
	if err := p.Tickets.MarkUnread(r.Context(), u.ShopID, u.ID, id); err != nil {
		if errors.Is(err, database.ErrNotFound) {
			p.NotFound(w, r)
			return
		}
		p.serverError(w, r, err)
		return
	}
	back := "/tickets"
	if target, ok := web.LocalPath(r.PostFormValue("back")); ok {
		back = target
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
