package helpdesk

import (
	"context"
	"sync"
)

// Change names what happened to a ticket, for pages showing it live.
type Change string

const (
	ChangeCreated  Change = "created"
	ChangeMessage  Change = "message" // a reply or the shopper's message
	ChangeNote     Change = "note"
	ChangeStatus   Change = "status"
	ChangeAssignee Change = "assignee"
	ChangeTags     Change = "tags"
	ChangeMerged   Change = "merged" // told for both tickets
	ChangeSpam     Change = "spam"
)

// Changes is told about every ticket change once its transaction has
// committed (never for one rolled back), so a listener that reads the
// ticket again sees the change. Implementations must not block: they run
// on the request that made the change. Today an in-process Broker
// implements it; delivery to other processes (PostgreSQL NOTIFY) and to
// pages (server-sent events) builds on this interface.
type Changes interface {
	TicketChanged(ctx context.Context, shopID, ticketID int64, what Change)
}

// Event is one ticket change as a Broker delivers it.
type Event struct {
	ShopID   int64
	TicketID int64
	What     Change
}

// Broker hands ticket changes to the subscribers of the shop in this
// process. A subscriber that does not keep up loses events rather than
// slowing the writer: a live page reloads what changed, so a missed event
// costs freshness, never data.
type Broker struct {
	mu   sync.Mutex
	subs map[int64]map[chan Event]struct{}
}

// NewBroker returns a broker with no subscribers.
func NewBroker() *Broker { return &Broker{subs: map[int64]map[chan Event]struct{}{}} }

// SubscriberBuffer is how many events wait for a slow subscriber.
const SubscriberBuffer = 64

// Subscribe returns the shop's ticket changes from now on, and the
// function that ends the subscription (and closes the channel).
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

// TicketChanged delivers the change to the shop's subscribers.
func (b *Broker) TicketChanged(_ context.Context, shopID, ticketID int64, what Change) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[shopID] {
		select {
		case ch <- Event{ShopID: shopID, TicketID: ticketID, What: what}:
		default:
		}
	}
}
