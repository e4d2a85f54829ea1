// Package live carries what staff pages show as it happens: ticket
// changes (told by the helpdesk use cases after commit) and who is viewing
// or replying to a ticket. Events are small — shop, ticket, what changed,
// and for presence the agent — never a message's text: a page that hears
// of a change fetches the fresh fragment over a normal GET, so roles and
// shop scoping stay with the pages.
//
// Within a process a Broker hands each shop's events to that shop's
// subscribers. Across processes (PostgreSQL) a Bus publishes through
// NOTIFY on one channel and each process LISTENs on one connection of its
// own, handing what arrives to its Broker; on SQLite (one process) the Bus
// hands events to the Broker directly.
package live

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/helpdesk"
)

// Presence states an agent's page posts; "gone" ends them at once.
const (
	StateViewing  = "viewing"
	StateReplying = "replying"
	StateGone     = "gone"
)

// Kinds of event besides the helpdesk's changes.
const (
	// WhatPresence: an agent's presence on a ticket changed.
	WhatPresence = "presence"
	// WhatResync: events may have been missed (the listener reconnected);
	// pages fetch everything they show again.
	WhatResync = "resync"
	// WhatReturns: the stored returns of Orders changed (a webhook, a
	// refresh, reconciliation); pages showing those orders fetch them again.
	WhatReturns = "returns"
)

// Event is one thing that happened in a shop, as published and delivered.
// The JSON form is the NOTIFY payload.
type Event struct {
	Shop   int64  `json:"shop"`
	Ticket int64  `json:"ticket,omitempty"`
	What   string `json:"what"` // a helpdesk.Change, WhatPresence or WhatResync
	// Presence only: the agent and their state.
	User  int64  `json:"user,omitempty"`
	Name  string `json:"name,omitempty"`
	State string `json:"state,omitempty"`
	// Returns only: the ids of the orders whose returns changed, comma
	// separated (a string keeps Event comparable).
	Orders string `json:"orders,omitempty"`
}

// ReturnsEvent is the event of changed returns of the shop's orders.
func ReturnsEvent(shopID int64, orderIDs []int64) Event {
	ids := make([]string, len(orderIDs))
	for i, id := range orderIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	return Event{Shop: shopID, What: WhatReturns, Orders: strings.Join(ids, ",")}
}

// TicketEvent is the event of a helpdesk change.
func TicketEvent(shopID, ticketID int64, what helpdesk.Change) Event {
	return Event{Shop: shopID, Ticket: ticketID, What: string(what)}
}

// SubscriberBuffer is how many events wait for a slow subscriber; beyond
// it the subscriber loses events rather than slowing the publisher. A
// live page re-fetches what changed, so a missed event costs freshness,
// never data.
const SubscriberBuffer = 64

// Broker hands events to the subscribers of their shop in this process.
type Broker struct {
	mu   sync.Mutex
	subs map[int64]map[chan Event]struct{}
}

// NewBroker returns a broker with no subscribers.
func NewBroker() *Broker { return &Broker{subs: map[int64]map[chan Event]struct{}{}} }

// Subscribe returns the shop's events from now on, and the function that
// ends the subscription (and closes the channel); calling it again does
// nothing.
func (b *Broker) Subscribe(shopID int64) (<-chan Event, func()) {
	ch := make(chan Event, SubscriberBuffer)
	b.mu.Lock()
	if b.subs[shopID] == nil {
		b.subs[shopID] = map[chan Event]struct{}{}
	}
	b.subs[shopID][ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs[shopID], ch)
			if len(b.subs[shopID]) == 0 {
				delete(b.subs, shopID)
			}
			b.mu.Unlock()
			close(ch)
		})
	}
}

// Deliver hands the event to its shop's subscribers, never blocking.
func (b *Broker) Deliver(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[e.Shop] {
		send(ch, e)
	}
}

// Resync tells every subscriber of every shop that events may have been
// missed.
func (b *Broker) Resync() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for shopID, subs := range b.subs {
		for ch := range subs {
			send(ch, Event{Shop: shopID, What: WhatResync})
		}
	}
}

func send(ch chan Event, e Event) {
	select {
	case ch <- e:
	default:
	}
}

// PresenceTTL is how long an agent counts as viewing or replying after
// their page last said so; pages repeat their state well within it, and
// a page closed without a word ("gone" lost) drops out after it.
const PresenceTTL = 30 * time.Second

// Viewer is an agent on a ticket, as another agent sees them.
type Viewer struct {
	UserID int64
	Name   string
	State  string // StateViewing or StateReplying
}

// Presence remembers, per process, who is on which ticket: fed by every
// presence event the process hears (its own pages' and, through NOTIFY,
// other processes'), expired by time.
type Presence struct {
	mu  sync.Mutex
	now func() time.Time
	on  map[ticketKey]map[int64]seen
}

type ticketKey struct{ shop, ticket int64 }

type seen struct {
	name, state string
	at          time.Time
}

// NewPresence returns an empty record; now is the clock (time.Now when
// nil).
func NewPresence(now func() time.Time) *Presence {
	if now == nil {
		now = time.Now
	}
	return &Presence{now: now, on: map[ticketKey]map[int64]seen{}}
}

// Apply records a presence event.
func (p *Presence) Apply(e Event) {
	if e.What != WhatPresence || e.User == 0 || e.Ticket == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	k := ticketKey{e.Shop, e.Ticket}
	if e.State != StateViewing && e.State != StateReplying {
		delete(p.on[k], e.User)
	} else {
		if p.on[k] == nil {
			p.on[k] = map[int64]seen{}
		}
		p.on[k][e.User] = seen{name: e.Name, state: e.State, at: now}
	}
	// Drop what has expired everywhere, so the record stays as small as
	// the set of agents at work.
	for k, users := range p.on {
		for id, s := range users {
			if now.Sub(s.at) > PresenceTTL {
				delete(users, id)
			}
		}
		if len(users) == 0 {
			delete(p.on, k)
		}
	}
}

// Others are the agents on the ticket other than me, by name.
func (p *Presence) Others(shopID, ticketID, me int64) []Viewer {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	var out []Viewer
	for id, s := range p.on[ticketKey{shopID, ticketID}] {
		if id != me && now.Sub(s.at) <= PresenceTTL {
			out = append(out, Viewer{UserID: id, Name: s.name, State: s.state})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Name < out[j].Name || out[i].Name == out[j].Name && out[i].UserID < out[j].UserID
	})
	return out
}

// changes adapts a publish function to helpdesk.Changes.
type changes func(ctx context.Context, e Event)

func (c changes) TicketChanged(ctx context.Context, shopID, ticketID int64, what helpdesk.Change) {
	c(ctx, TicketEvent(shopID, ticketID, what))
}
