package desk

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/live"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// LivePages are the desk's live side: one event stream per tab
// (GET /events) carrying the shop's ticket changes and presence, and the
// ticket view's presence — what the page posts, and the line naming the
// others on the ticket.
type LivePages struct {
	*Desk
	Tickets *ticket.Store
	Bus     *live.Bus
	// Heartbeat is the time between comment lines on an idle stream; at
	// each one the session is checked again. DefaultHeartbeat when 0.
	Heartbeat time.Duration
	seq       atomic.Int64
}

// DefaultHeartbeat keeps idle streams open through proxies that close
// silent connections after 30 s or more.
const DefaultHeartbeat = 25 * time.Second

// reconnectDelay is the `retry:` the stream asks browsers to wait before
// they connect again.
const reconnectDelay = 3 * time.Second

// streamWriteTimeout bounds one write to a stream: a client that stops
// reading is let go instead of holding a goroutine.
const streamWriteTimeout = 30 * time.Second

// liveTicket is one event as a page reads it: which ticket, what
// happened. Nothing else of the ticket travels; the page fetches it.
type liveTicket struct {
	Ticket int64  `json:"ticket,omitempty"`
	What   string `json:"what"`
}

// Events is the signed-in user's stream of their shop's events
// (text/event-stream). Each event names a ticket and what changed
// (`event: ticket`), or that someone's presence on a ticket changed
// (`event: presence`, never the user's own), or that events may have been
// missed (`event: resync`: after the server's listener reconnected, and
// at once when the browser reconnects with a Last-Event-ID). A page names
// when it was written (`?since=`, a live.Stamp taken before it read what
// it shows): the events this process heard since then come first
// (live.Bus.Since), so one published between the page's render and its
// stream's connection still reaches it; a resync instead when the process
// cannot tell them all. Comment lines every Heartbeat keep the connection open;
// at each one the session is read again, and a session that ended
// (logout, disabled user, reset password) ends the stream with
// `event: end`. The handler holds no database connection while idle.
func (p *LivePages) Events(w http.ResponseWriter, r *http.Request) {
	me := auth.UserFrom(r.Context())
	stream, err := p.Bus.Open(me.ShopID, me.ID)
	if errors.Is(err, live.ErrTooManyStreams) {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "Too many open pages for live updates; close some tabs.", http.StatusTooManyRequests)
		return
	}
	defer stream.Close()
	rc := http.NewResponseController(w)
	// The server's read timeout would otherwise end the stream after a
	// minute; writes get a deadline each.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on as they come
	w.WriteHeader(http.StatusOK)
	write := func(format string, args ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write("retry: %d\n\n", reconnectDelay.Milliseconds()) {
		return
	}
	switch since, here, ok := live.ParseStamp(r.URL.Query().Get("since")); {
	case r.Header.Get("Last-Event-ID") != "":
		if !write("event: resync\ndata: {}\n\n") {
			return
		}
	case ok:
		// The page was written at since: what happened between then and
		// now comes first, or a resync when this process cannot tell.
		missed, complete := p.Bus.Since(me.ShopID, since, here)
		if !complete {
			if !write("event: resync\ndata: {}\n\n") {
				return
			}
			break
		}
		for _, e := range missed {
			if !p.send(write, me, e) {
				return
			}
		}
	}
	beat := p.Heartbeat
	if beat <= 0 {
		beat = DefaultHeartbeat
	}
	ticker := time.NewTicker(beat)
	defer ticker.Stop()
	cookie, _ := r.Cookie(auth.SessionCookie)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-stream.Closing:
			write("event: end\ndata: {}\n\n")
			return
		case <-ticker.C:
			if !p.sessionValid(r, cookie, me) {
				write("event: end\ndata: {}\n\n")
				return
			}
			if !write(": keep-alive\n\n") {
				return
			}
		case e, ok := <-stream.Events:
			if !ok {
				return
			}
			if !p.send(write, me, e) {
				return
			}
		}
	}
}

// send writes one event, unless it is the user's own presence.
func (p *LivePages) send(write func(string, ...any) bool, me *user.User, e live.Event) bool {
	if e.Shop != me.ShopID { // the broker delivers by shop; this is the second lock on the door
		return true
	}
	kind := "ticket"
	switch e.What {
	case live.WhatPresence:
		if e.User == me.ID {
			return true
		}
		kind = "presence"
	case live.WhatResync:
		kind = "resync"
	case live.WhatReturns:
		// Order ids only: the page fetches what it shows again.
		data, _ := json.Marshal(struct {
			Orders string `json:"orders"`
		}{e.Orders})
		return write("id: %d\nevent: returns\ndata: %s\n\n", p.seq.Add(1), data)
	}
	data, _ := json.Marshal(liveTicket{Ticket: e.Ticket, What: e.What})
	return write("id: %d\nevent: %s\ndata: %s\n\n", p.seq.Add(1), kind, data)
}

// sessionValid reads the stream's session again: the user must still be
// signed in with it, enabled, and the same user.
func (p *LivePages) sessionValid(r *http.Request, cookie *http.Cookie, me *user.User) bool {
	if cookie == nil {
		return false
	}
	u, err := p.Users.SessionUser(r.Context(), cookie.Value)
	return err == nil && u.ID == me.ID && u.ShopID == me.ShopID
}

// SetPresence records the agent's state on the ticket — viewing, replying
// or gone — for the other agents' pages (204). The ticket view posts it
// on open and focus, while typing (debounced), every 15 s while shown,
// and "gone" on pagehide.
func (p *LivePages) SetPresence(w http.ResponseWriter, r *http.Request) {
	t, ok := loadByID(p.Desk, w, r, p.Tickets.Get)
	if !ok {
		return
	}
	state := r.PostFormValue("state")
	switch state {
	case live.StateViewing, live.StateReplying, live.StateGone:
	default:
		http.Error(w, "state must be viewing, replying or gone", http.StatusBadRequest)
		return
	}
	me := auth.UserFrom(r.Context())
	p.Bus.Publish(r.Context(), live.Event{Shop: me.ShopID, Ticket: t.ID, What: live.WhatPresence, User: me.ID, Name: me.DisplayName(), State: state})
	w.WriteHeader(http.StatusNoContent)
}

// Presence is the fragment naming the other agents on the ticket
// ("Ana is viewing", "Ana is replying…"); empty when nobody else is.
func (p *LivePages) Presence(w http.ResponseWriter, r *http.Request) {
	t, ok := loadByID(p.Desk, w, r, p.Tickets.Get)
	if !ok {
		return
	}
	me := auth.UserFrom(r.Context())
	p.render.Fragment(w, http.StatusOK, "presence", p.Bus.Presence().Others(me.ShopID, t.ID, me.ID))
}
