package demo

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// HelpdeskStores are what seeding the demo's helpdesk reads and writes
// through. The helpdesk's own stores (tickets, attachments, macros) are
// built by SeedHelpdesk on DB with the demo's clock, so every ticket,
// message and notification is dated in the past weeks as if agents had
// worked them then; the audit log keeps the time the seed ran.
type HelpdeskStores struct {
	DB       *database.DB
	Users    *user.Store
	Commerce *commerce.Store
	Audit    *audit.Log
	Returns  *returns.Records // the returns ConnectLoop mirrored, to pick orders with a return
}

// HelpdeskResult counts what SeedHelpdesk wrote.
type HelpdeskResult struct {
	Tickets     []int64 // every seeded ticket, spam and merged ones included
	Attachments []int64
	Spam        int64 // the ticket marked as spam
	Merged      [2]int64
}

// The demo's helpdesk: three tickets per round, one left open (the
// shopper wrote last), one pending (the shop answered), one closed; every
// seventh round's first ticket is a long thread.
const helpdeskRounds = 22

// SeedHelpdesk fills the demo shop's helpdesk through the helpdesk's use
// cases: shoppers' tickets about their orders (from the hub's contact
// form) and tickets agents opened, replies with quoted history, internal
// notes, tags, assignments to the agent, the owner or nobody, files, a
// spam ticket, a merged pair, the default macros and a few unread desk
// notifications for the agent. It is deterministic: the same data every
// run, dated back from now. Call it once, when Seed created the shop.
func SeedHelpdesk(ctx context.Context, s HelpdeskStores, seeded *Result, now time.Time) (*HelpdeskResult, error) {
	sh := seeded.Shop
	owner, err := s.Users.GetByEmail(ctx, OwnerEmail)
	if err != nil {
		return nil, fmt.Errorf("demo: owner: %w", err)
	}
	agent, err := s.Users.GetByEmail(ctx, AgentEmail)
	if err != nil {
		return nil, fmt.Errorf("demo: agent: %w", err)
	}
	returned, err := s.Returns.ForOrders(ctx, sh.ID, returns.OrderIDs(seeded.Orders))
	if err != nil {
		return nil, err
	}
	// One transaction: the use cases join it, so the demo starts as fast
	// with the helpdesk as without, and a failed seed leaves no half of it.
	var res *HelpdeskResult
	err = s.DB.InTx(ctx, func(tx *database.Tx) error {
		sd := &helpdeskSeeder{ctx: ctx, shopID: sh.ID, owner: owner, agent: agent, res: &HelpdeskResult{}, commerce: s.Commerce.With(tx)}
		clock := func() time.Time { return sd.clock }
		sd.tickets = ticket.NewStore(tx, clock)
		sd.files = attachment.NewStore(tx, clock)
		sd.desk = helpdesk.New(helpdesk.Options{DB: tx, Tickets: sd.tickets, Commerce: sd.commerce, Users: s.Users.With(tx), Audit: s.Audit.With(tx)})
		macros := macro.New(tx, macro.NewStore(tx, clock), s.Audit.With(tx), sd.tickets, sd.commerce)
		sd.index(seeded, returned)
		res = sd.res
		return sd.seed(macros, now)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// seed writes the helpdesk, dating each step by moving the clock.
func (sd *helpdeskSeeder) seed(macros *macro.Macros, now time.Time) error {
	ctx := sd.ctx
	sd.clock = now.Add(-25 * 24 * time.Hour)
	for _, in := range macro.DefaultMacros() {
		if _, err := macros.Create(ctx, sd.owner, in); err != nil {
			return fmt.Errorf("demo: macro %s: %w", in.Name, err)
		}
	}
	// Tickets start every eight hours or so over the last 23 days; the
	// ones still open are the most recent of each kind.
	start := now.Add(-23 * 24 * time.Hour)
	n := 0
	for round := range helpdeskRounds {
		for k, status := range []ticket.Status{ticket.StatusClosed, ticket.StatusPending, ticket.StatusOpen} {
			sd.clock = start.Add(time.Duration(n)*8*time.Hour + time.Duration(n*37%300)*time.Minute)
			long := k == 0 && round%7 == 3
			if err := sd.conversation(n, status, long); err != nil {
				return fmt.Errorf("demo: ticket %d: %w", n, err)
			}
			n++
		}
	}
	sd.clock = now.Add(-20 * time.Hour)
	if err := sd.mergedPair(); err != nil {
		return fmt.Errorf("demo: merged pair: %w", err)
	}
	sd.clock = now.Add(-9 * time.Hour)
	if err := sd.spam(); err != nil {
		return fmt.Errorf("demo: spam: %w", err)
	}
	// The agent has caught up with what came before today; what follows
	// is the few notifications their badge shows.
	sd.clock = now.Add(-3 * time.Hour)
	if err := sd.tickets.MarkAllNotificationsRead(ctx, sd.shopID, sd.agent.ID); err != nil {
		return err
	}
	if err := sd.fresh(now); err != nil {
		return fmt.Errorf("demo: today's tickets: %w", err)
	}
	return nil
}

type helpdeskSeeder struct {
	ctx          context.Context
	shopID       int64
	owner, agent *user.User
	tickets      *ticket.Store
	files        *attachment.Store
	desk         *helpdesk.Tickets
	commerce     *commerce.Store
	clock        time.Time
	res          *HelpdeskResult

	customers []*commerce.Customer
	// Orders by what a shopper may ask about them.
	returned, delivered, moving, processing []*commerce.Order
	customerOf                              map[int64]*commerce.Customer
}

func (sd *helpdeskSeeder) index(seeded *Result, returned map[int64][]returns.Return) {
	sd.customerOf = map[int64]*commerce.Customer{}
	for _, c := range seeded.Customers {
		if c != nil {
			sd.customers = append(sd.customers, c)
			sd.customerOf[c.ID] = c
		}
	}
	for _, o := range seeded.Orders {
		switch {
		case sd.customerOf[o.CustomerID] == nil || o.CancelledAt != nil:
		case len(returned[o.ID]) > 0:
			sd.returned = append(sd.returned, o)
		case o.DeliveredAt() != nil:
			sd.delivered = append(sd.delivered, o)
		case len(o.Fulfillments) > 0:
			sd.moving = append(sd.moving, o)
		default:
			sd.processing = append(sd.processing, o)
		}
	}
}

// wait moves the demo clock on.
func (sd *helpdeskSeeder) wait(d time.Duration) { sd.clock = sd.clock.Add(d) }

// topic is one kind of question shoppers ask, with the words of each turn.
// Texts name {first}, {order}, {item}, {carrier}, {tracking}, {agent}.
type topic struct {
	tags     []string
	orders   func(sd *helpdeskSeeder) []*commerce.Order
	subjects []string
	opening  []string
	answer   string
	followUp string // the shopper's next message
	closing  string // the shop's last word
	thanks   string // the shopper's last word, on closed tickets
	note     string // an internal note
	photo    bool   // the shopper sends a photo
	label    bool   // the shop sends a PDF
	// sized picks the topic's orders by the item asked about: something
	// worn, for a question of size; otherwise the order's first item.
	sized bool
}

// wearable reports whether a product comes in sizes.
func wearable(title string) bool {
	return strings.Contains(title, "Socks") || strings.Contains(title, "Beanie") || strings.Contains(title, "Scarf")
}

var topics = []topic{
	{
		tags:     []string{"where-is-my-order"},
		orders:   func(sd *helpdeskSeeder) []*commerce.Order { return append(sd.moving, sd.processing...) },
		subjects: []string{"Where is my order {order}?", "Order {order} hasn't arrived yet", "Tracking for {order} not updating"},
		opening: []string{
			"Hi, I ordered the {item} last week and the tracking page hasn't changed in three days. Could you check where order {order} is? Thanks, {first}",
			"Hello! My order {order} still says in transit. I need it before the weekend, I'm going hiking on Saturday. Is there any way to know when it arrives?",
			"Hi there, the {carrier} tracking number {tracking} for order {order} says 'label created' and nothing since. Has it actually shipped?",
		},
		answer:   "Hi {first},\n\nThanks for your patience. I checked with {carrier}: order {order} left our warehouse and is moving through their network, tracking number {tracking}. Scans sometimes pause between hubs for a day or two. It should reach you within 2–3 business days.\n\nBest,\n{agent}",
		followUp: "Thanks. The tracking page still shows the same scan from Tuesday though. Should I be worried it's lost?",
		closing:  "Hi {first},\n\nI opened a trace with {carrier} for {tracking}. If it hasn't moved by Friday we will send a replacement {item} at no cost, so you're covered either way.\n\nBest,\n{agent}",
		thanks:   "It arrived this morning, thank you so much for checking!",
		note:     "Carrier trace opened with {carrier} for {tracking}. Re-ship on Friday if there is no new scan.",
	},
	{
		tags:     []string{"return", "wrong-size"},
		orders:   func(sd *helpdeskSeeder) []*commerce.Order { return sd.returned },
		subjects: []string{"Wrong size – return for {order}", "Exchange {item} for a bigger size", "Return started for {order}, what next?"},
		opening: []string{
			"Hi, the {item} from order {order} is too small. I normally wear a medium but this fits like a small. I started a return in the hub. Can I get the next size up instead of a refund?",
			"Hello, I'd like to return the {item} from {order}, it's the wrong size. I've started the return but I'm not sure how to print the label.",
			"Hi! I returned the {item} (order {order}) because of the size. How long does it take until you receive it?",
		},
		answer:   "Hi {first},\n\nSorry the fit wasn't right. Your return for order {order} is registered. I've attached the prepaid return label: print it, tape it to the parcel and drop it at any {carrier} point. As soon as the parcel is scanned we will send the exchange.\n\nBest,\n{agent}",
		followUp: "Got the label, thanks! Do I need to include the original packaging?",
		closing:  "Hi {first},\n\nThe original packaging is nice but not required, any sturdy bag or box works. We'll email you once the return is scanned in.\n\nBest,\n{agent}",
		thanks:   "Perfect, dropped it off today. Thanks for the quick help!",
		note:     "Customer wants an exchange, not a refund. Hold one {item} in the next size for this return.",
		label:    true,
		sized:    true,
	},
	{
		tags:     []string{"damaged"},
		orders:   func(sd *helpdeskSeeder) []*commerce.Order { return sd.delivered },
		subjects: []string{"Damaged item in order {order}", "{item} arrived broken", "Parcel for {order} was crushed"},
		opening: []string{
			"Hi, my order {order} arrived today but the {item} is damaged, the box was crushed on one side. I've attached a photo. What can you do?",
			"Hello, unfortunately the {item} I received (order {order}) has a crack. Photo attached. I'd like a replacement please.",
			"Hi, the parcel for {order} came open and the {item} is scratched. See the picture. Not happy about this.",
		},
		answer:   "Hi {first},\n\nI'm really sorry the {item} arrived like this, and thanks for the photo, that's all we need. We're sending a replacement today at no cost and you don't need to send the damaged one back.\n\nBest,\n{agent}",
		followUp: "Thank you! Will I get a new tracking number for the replacement?",
		closing:  "Hi {first},\n\nYes: the replacement ships with {carrier} and you'll get the tracking link by email as soon as it leaves the warehouse, usually within a day.\n\nBest,\n{agent}",
		thanks:   "Replacement arrived in one piece. Great service, thanks!",
		note:     "Damage claim filed with {carrier} with the customer's photo. Replacement order created, no return needed.",
		photo:    true,
	},
	{
		tags:     []string{"return", "refund"},
		orders:   func(sd *helpdeskSeeder) []*commerce.Order { return sd.returned },
		subjects: []string{"When will I get my refund for {order}?", "Refund question about {order}", "Refund not received yet"},
		opening: []string{
			"Hi, I sent back the {item} from order {order} two weeks ago. The tracking says delivered to you, but I haven't seen the refund on my card yet. Can you check?",
			"Hello, how long do refunds usually take? I returned order {order} and I'm still waiting.",
			"Hi, I returned the {item} ({order}) and got a partial refund only. Was shipping deducted?",
		},
		answer:   "Hi {first},\n\nThanks for getting in touch. We received your return for order {order} and issued the refund to your original payment method. Banks usually take 5–10 business days to show it.\n\nBest,\n{agent}",
		followUp: "OK, it's been 6 business days now. Could you send me a confirmation or reference number for the refund?",
		closing:  "Hi {first},\n\nOf course: the refund confirmation is attached. Your bank can trace it with the reference on it if it doesn't show by next week.\n\nBest,\n{agent}",
		thanks:   "The refund showed up today. Thanks for following up!",
		note:     "Refund confirmed in the payment provider's dashboard. Original shipping is not refunded per policy; return shipping was free.",
		label:    true,
	},
	{
		tags:     []string{"address-change"},
		orders:   func(sd *helpdeskSeeder) []*commerce.Order { return append(sd.processing, sd.moving...) },
		subjects: []string{"Change delivery address for {order}", "Wrong address on order {order}", "Can you ship {order} to my office?"},
		opening: []string{
			"Hi, I just noticed I used my old address for order {order}. Can you change it before it ships? The new one is 18 Harbour Street, apartment 4.",
			"Hello, I won't be home next week. Could order {order} go to my office instead? Same city, I can send the address.",
			"Hi, there's a typo in the street name on {order}. Could you fix it so the parcel doesn't get lost?",
		},
		answer:   "Hi {first},\n\nThanks for telling us in time. I've updated the delivery address on order {order}; the label will be printed with the new one. If it had already been handed to {carrier}, we'd request a redirect with them instead.\n\nBest,\n{agent}",
		followUp: "Great, can you confirm the postcode is correct too? It should end in 4B.",
		closing:  "Hi {first},\n\nConfirmed: the postcode on the label ends in 4B. Nothing else to do on your side.\n\nBest,\n{agent}",
		thanks:   "Thank you, all good then!",
		note:     "Address changed in the store admin before fulfilment. Double-checked the label preview.",
	},
	{
		tags:     []string{"discount"},
		orders:   func(sd *helpdeskSeeder) []*commerce.Order { return append(sd.delivered, sd.moving...) },
		subjects: []string{"Discount code didn't apply", "WELCOME10 not working on {order}", "Forgot to use my discount code"},
		opening: []string{
			"Hi, I had a WELCOME10 code from your newsletter but it didn't apply at checkout for order {order}. Can I still get the 10% off?",
			"Hello, the code SPRING15 says it's invalid. It's in the email I got yesterday. Am I doing something wrong?",
			"Hi, I forgot to enter my discount code when I ordered the {item} ({order}). Is it too late?",
		},
		answer:   "Hi {first},\n\nSorry about that. The code is valid for first orders above $50, which is why checkout refused it. As a one-time courtesy I've refunded 10% of order {order} to your card.\n\nBest,\n{agent}",
		followUp: "That's kind, thank you. Does the code also work on sale items?",
		closing:  "Hi {first},\n\nDiscount codes don't combine with sale prices, but they work on everything at full price. Enjoy the {item}!\n\nBest,\n{agent}",
		thanks:   "Got it, thanks again.",
		note:     "10% goodwill refund on {order}. The newsletter code's minimum spend is not mentioned in the email, raised with marketing.",
	},
}

// ticketPlan is who and what one conversation is about.
type ticketPlan struct {
	topic    topic
	customer *commerce.Customer
	order    *commerce.Order
	words    *strings.Replacer
}

func (sd *helpdeskSeeder) plan(n int) ticketPlan {
	tp := topics[n%len(topics)]
	orders := tp.orders(sd)
	if tp.sized {
		var worn []*commerce.Order
		for _, o := range orders {
			if slices.ContainsFunc(o.LineItems, func(li commerce.LineItem) bool { return wearable(li.Title) }) {
				worn = append(worn, o)
			}
		}
		if len(worn) > 0 {
			orders = worn
		}
	}
	if len(orders) == 0 {
		orders = sd.delivered
	}
	o := orders[(n/len(topics)*7+n)%len(orders)]
	return sd.planFor(tp, o)
}

func (sd *helpdeskSeeder) planFor(tp topic, o *commerce.Order) ticketPlan {
	c := sd.customerOf[o.CustomerID]
	item, carrier, tracking := "order", "the carrier", "(not yet shipped)"
	if len(o.LineItems) > 0 {
		item = o.LineItems[0].Title
	}
	for _, li := range o.LineItems {
		if tp.sized && wearable(li.Title) {
			item = li.Title
			break
		}
	}
	if len(o.Fulfillments) > 0 {
		carrier, tracking = o.Fulfillments[0].Carrier, o.Fulfillments[0].TrackingNumber
	}
	return ticketPlan{topic: tp, customer: c, order: o, words: strings.NewReplacer("{first}", c.FirstName, "{order}", o.Name,
		"{item}", item, "{carrier}", carrier, "{tracking}", tracking)}
}

func (p ticketPlan) say(text string, agent *user.User) string {
	name := agent.DisplayName()
	if i := strings.IndexByte(name, ' '); i > 0 {
		name = name[:i]
	}
	return strings.ReplaceAll(p.words.Replace(text), "{agent}", name)
}

// quoted is a reply with the message it answers quoted below it, as mail
// clients write it.
func quoted(reply, who string, at time.Time, previous string) string {
	lines := strings.Split(previous, "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return reply + "\n\nOn " + at.Format("Mon, Jan 2, 2006 at 15:04") + ", " + who + " wrote:\n" + strings.Join(lines, "\n")
}

// conversation seeds ticket n and leaves it in status.
func (sd *helpdeskSeeder) conversation(n int, status ticket.Status, long bool) error {
	ctx := sd.ctx
	p := sd.plan(n)
	from := helpdesk.Sender{CustomerID: p.customer.ID, Email: p.customer.Email, Name: p.customer.Name()}
	// Who works it: the agent, the owner, or nobody yet.
	worker := []*user.User{sd.agent, sd.owner, nil}[(n/3+n)%3]
	responder := worker
	if responder == nil {
		responder = sd.agent
	}
	subject := p.words.Replace(p.topic.subjects[n/len(topics)%len(p.topic.subjects)])
	opening := p.words.Replace(p.topic.opening[(n/len(topics)+1)%len(p.topic.opening)])
	var t *ticket.Ticket
	var err error
	var last string
	if n%8 == 6 {
		// An agent opened this one for the shopper, after a phone call.
		body := p.say("Hi {first},\n\nThanks for calling earlier. As promised, here is a written follow-up about order {order}: ", responder) +
			strings.ToLower(p.say(p.topic.answer, responder)[len("Hi "+p.customer.FirstName+",\n\n"):])
		t, err = sd.desk.Create(ctx, responder, helpdesk.NewTicket{Subject: subject, CustomerEmail: p.customer.Email,
			CustomerName: p.customer.Name(), Body: body, OrderID: p.order.ID})
		if err != nil {
			return err
		}
		last = body
		sd.wait(5 * time.Hour)
		if _, err := sd.desk.CustomerMessage(ctx, sd.shopID, t.ID, from, quoted(p.say(p.topic.followUp, responder), responder.DisplayName(), sd.clock.Add(-5*time.Hour), last)); err != nil {
			return err
		}
	} else {
		t, _, err = sd.tickets.OpenFromHub(ctx, sd.shopID, ticket.NewTicket{CustomerID: p.customer.ID, OrderID: p.order.ID,
			RequesterEmail: p.customer.Email, RequesterName: p.customer.Name(), Subject: subject, Body: opening})
		if err != nil {
			return err
		}
		last = opening
		if p.topic.photo {
			if err := sd.attach(t.ID, "photo-of-the-damage.png", demoPNG()); err != nil {
				return err
			}
		}
	}
	sd.res.Tickets = append(sd.res.Tickets, t.ID)
	if _, err := sd.desk.SetTags(ctx, sd.owner, t.ID, p.topic.tags); err != nil {
		return err
	}
	if n%5 == 2 {
		if _, err := sd.desk.SetTags(ctx, sd.owner, t.ID, append(p.topic.tags, "vip")); err != nil {
			return err
		}
	}
	if worker != nil && worker.ID != t.AssigneeID {
		sd.wait(40 * time.Minute)
		if err := sd.desk.Assign(ctx, sd.owner, t.ID, worker.ID); err != nil {
			return err
		}
	} else if worker == nil && t.AssigneeID != 0 {
		if err := sd.desk.Assign(ctx, sd.owner, t.ID, 0); err != nil {
			return err
		}
	}
	if n%8 == 6 {
		// The shopper has answered the agent's follow-up.
		return sd.finish(t, p, status, responder, from, last)
	}
	sd.wait(time.Duration(1+n%5) * time.Hour)
	if n%4 == 1 {
		if _, err := sd.desk.Note(ctx, responder, t.ID, p.say(p.topic.note, responder)); err != nil {
			return err
		}
		sd.wait(10 * time.Minute)
	}
	if status == ticket.StatusOpen && n%2 == 0 {
		// Nobody has answered yet.
		return nil
	}
	answer := p.say(p.topic.answer, responder)
	m, err := sd.desk.Reply(ctx, responder, t.ID, answer)
	if err != nil {
		return err
	}
	if p.topic.label {
		if err := sd.attachTo(t.ID, m.ID, "return-label-"+strings.TrimPrefix(p.order.Name, "#")+".pdf", demoPDF("Return label for order "+p.order.Name)); err != nil {
			return err
		}
	}
	prevWho, prevAt, prev := responder.DisplayName(), sd.clock, answer
	if long {
		// A back-and-forth of a dozen messages, each quoting the last.
		for turn := range 5 {
			sd.wait(time.Duration(3+turn) * time.Hour)
			msg := quoted(p.say(longThread[turn*2], responder), prevWho, prevAt, prev)
			if _, err := sd.desk.CustomerMessage(ctx, sd.shopID, t.ID, from, msg); err != nil {
				return err
			}
			prevWho, prevAt, prev = p.customer.Name(), sd.clock, p.say(longThread[turn*2], responder)
			sd.wait(time.Duration(1+turn%2) * time.Hour)
			reply := quoted(p.say(longThread[turn*2+1], responder), prevWho, prevAt, prev)
			if _, err := sd.desk.Reply(ctx, responder, t.ID, reply); err != nil {
				return err
			}
			prevWho, prevAt, prev = responder.DisplayName(), sd.clock, p.say(longThread[turn*2+1], responder)
		}
	}
	sd.wait(time.Duration(4+n%9) * time.Hour)
	if _, err := sd.desk.CustomerMessage(ctx, sd.shopID, t.ID, from, quoted(p.say(p.topic.followUp, responder), prevWho, prevAt, prev)); err != nil {
		return err
	}
	return sd.finish(t, p, status, responder, from, p.say(p.topic.followUp, responder))
}

// finish takes a ticket whose shopper wrote last to status.
func (sd *helpdeskSeeder) finish(t *ticket.Ticket, p ticketPlan, status ticket.Status, responder *user.User, from helpdesk.Sender, last string) error {
	ctx := sd.ctx
	if status == ticket.StatusOpen {
		return nil // waiting for the shop
	}
	sd.wait(2 * time.Hour)
	closing := p.say(p.topic.closing, responder)
	if _, err := sd.desk.Reply(ctx, responder, t.ID, quoted(closing, from.Name, sd.clock.Add(-2*time.Hour), last)); err != nil {
		return err
	}
	if err := sd.desk.SetStatus(ctx, responder, t.ID, ticket.StatusPending); err != nil {
		return err
	}
	if status == ticket.StatusPending {
		return nil
	}
	sd.wait(20 * time.Hour)
	if _, err := sd.desk.CustomerMessage(ctx, sd.shopID, t.ID, from, p.say(p.topic.thanks, responder)); err != nil {
		return err
	}
	sd.wait(30 * time.Minute)
	return sd.desk.SetStatus(ctx, responder, t.ID, ticket.StatusClosed)
}

// longThread is the back-and-forth of the long conversations: the
// shopper's message, then the shop's answer, five times.
var longThread = []string{
	"Thanks for the reply. I checked again and I'm still not sure, can you tell me exactly what happens next?",
	"Hi {first},\n\nOf course. We'll check the order {order} today and write back with the next step by tomorrow at the latest.\n\n{agent}",
	"Any news? I haven't heard anything since yesterday.",
	"Hi {first},\n\nSorry for the wait. The warehouse confirmed what happened with {order}; I've asked them for a photo of the packing record so we can settle it properly.\n\n{agent}",
	"OK. Just so you know, this was supposed to be a birthday present for my sister, so timing matters a bit.",
	"Hi {first},\n\nUnderstood, thank you for telling me. I've flagged the order as urgent and upgraded the shipping on anything we send to express, at no cost.\n\n{agent}",
	"That's very kind. Could you also send the {item} gift-wrapped, if that's possible?",
	"Hi {first},\n\nDone: it will be gift-wrapped with a blank card, so you can write on it yourself.\n\n{agent}",
	"Wonderful. One last thing: will the invoice be in the parcel? I'd rather she didn't see the price.",
	"Hi {first},\n\nNo invoice in the parcel: gift orders never include one, it stays in your account.\n\n{agent}",
}

// mergedPair is a shopper who wrote twice about the same parcel: the
// second ticket is merged into the first.
func (sd *helpdeskSeeder) mergedPair() error {
	ctx := sd.ctx
	o := sd.delivered[len(sd.delivered)/2]
	p := sd.planFor(topics[2], o)
	first, _, err := sd.tickets.OpenFromHub(ctx, sd.shopID, ticket.NewTicket{CustomerID: p.customer.ID, OrderID: o.ID, RequesterEmail: p.customer.Email,
		RequesterName: p.customer.Name(), Subject: p.words.Replace("Missing item in order {order}"),
		Body: p.words.Replace("Hi, my parcel for order {order} came today but the {item} isn't in it. The packing slip lists it. Could you check?")})
	if err != nil {
		return err
	}
	sd.wait(3 * time.Hour)
	second, _, err := sd.tickets.OpenFromHub(ctx, sd.shopID, ticket.NewTicket{CustomerID: p.customer.ID, OrderID: o.ID, RequesterEmail: p.customer.Email,
		RequesterName: p.customer.Name(), Subject: p.words.Replace("Re: {item} missing"),
		Body: p.words.Replace("Sorry, me again: I wrote earlier about {order}. I looked through the packaging once more and the {item} is definitely not there.")})
	if err != nil {
		return err
	}
	sd.wait(40 * time.Minute)
	if err := sd.desk.Merge(ctx, sd.agent, second.ID, first.ID); err != nil {
		return err
	}
	if _, err := sd.desk.SetTags(ctx, sd.owner, first.ID, []string{"missing-item"}); err != nil {
		return err
	}
	if err := sd.desk.Assign(ctx, sd.agent, first.ID, sd.agent.ID); err != nil {
		return err
	}
	sd.res.Tickets = append(sd.res.Tickets, first.ID, second.ID)
	sd.res.Merged = [2]int64{first.ID, second.ID}
	return nil
}

// spam is a sales pitch sent through the contact form, marked as spam.
func (sd *helpdeskSeeder) spam() error {
	ctx := sd.ctx
	c, _, err := sd.commerce.CustomerForEmail(ctx, sd.shopID, "growth@rank-boost-seo.example", "Rank Boost", "SEO")
	if err != nil {
		return err
	}
	t, _, err := sd.tickets.OpenFromHub(ctx, sd.shopID, ticket.NewTicket{CustomerID: c.ID, RequesterEmail: c.Email, RequesterName: "Rank Boost SEO",
		Subject: "Get your store to page 1 of Google in 14 days!!!",
		Body:    "Dear store owner, we noticed your website is not ranking for 312 keywords. Our guaranteed SEO package puts you on page 1 in 14 days or your money back. Reply YES for a free audit."})
	if err != nil {
		return err
	}
	sd.wait(25 * time.Minute)
	if err := sd.desk.MarkSpam(ctx, sd.agent, t.ID); err != nil {
		return err
	}
	sd.res.Tickets = append(sd.res.Tickets, t.ID)
	sd.res.Spam = t.ID
	return nil
}

// fresh is this morning's work for the agent: two new tickets the owner
// assigns them and a shopper writing back on one of theirs, which is what
// their notification badge counts.
func (sd *helpdeskSeeder) fresh(now time.Time) error {
	ctx := sd.ctx
	for i, o := range []*commerce.Order{sd.moving[0], sd.delivered[1]} {
		tp := topics[[]int{0, 2}[i]]
		p := sd.planFor(tp, o)
		t, _, err := sd.tickets.OpenFromHub(ctx, sd.shopID, ticket.NewTicket{CustomerID: p.customer.ID, OrderID: o.ID, RequesterEmail: p.customer.Email,
			RequesterName: p.customer.Name(), Subject: p.words.Replace(tp.subjects[2]), Body: p.words.Replace(tp.opening[2])})
		if err != nil {
			return err
		}
		if tp.photo {
			if err := sd.attach(t.ID, "IMG_2291.png", demoPNG()); err != nil {
				return err
			}
		}
		sd.res.Tickets = append(sd.res.Tickets, t.ID)
		if _, err := sd.desk.SetTags(ctx, sd.owner, t.ID, tp.tags); err != nil {
			return err
		}
		sd.wait(35 * time.Minute)
		if err := sd.desk.Assign(ctx, sd.owner, t.ID, sd.agent.ID); err != nil {
			return err
		}
		sd.wait(50 * time.Minute)
	}
	// The shopper of the agent's most recent pending ticket answers.
	pending, _, err := sd.tickets.List(ctx, sd.shopID, ticket.Filter{Status: ticket.StatusPending}, database.Page{Limit: database.MaxPageSize})
	if err != nil {
		return err
	}
	for _, t := range pending {
		if t.AssigneeID != sd.agent.ID || t.CustomerID == 0 {
			continue
		}
		c := sd.customerOf[t.CustomerID]
		if c == nil {
			continue
		}
		sd.clock = now.Add(-40 * time.Minute)
		_, err := sd.desk.CustomerMessage(ctx, sd.shopID, t.ID, helpdesk.Sender{CustomerID: c.ID, Email: c.Email, Name: c.Name()},
			"Sorry, one more question: can I still change the colour, or is it too late?")
		return err
	}
	return nil
}

// attach adds a file to the ticket's latest message.
func (sd *helpdeskSeeder) attach(ticketID int64, name string, data []byte) error {
	msgs, err := sd.tickets.Messages(sd.ctx, sd.shopID, ticketID)
	if err != nil {
		return err
	}
	return sd.attachTo(ticketID, msgs[len(msgs)-1].ID, name, data)
}

func (sd *helpdeskSeeder) attachTo(ticketID, messageID int64, name string, data []byte) error {
	a, err := sd.files.Add(sd.ctx, sd.shopID, ticketID, messageID, attachment.Upload{Filename: name, Data: data})
	if err != nil {
		return err
	}
	sd.res.Attachments = append(sd.res.Attachments, a.ID)
	return nil
}

// demoPNG is a small picture of a dented box: brown carton, darker crease.
func demoPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 96, 72))
	for y := range 72 {
		for x := range 96 {
			c := color.RGBA{236, 230, 220, 255}
			if x >= 12 && x < 84 && y >= 14 && y < 62 {
				c = color.RGBA{181, 136, 86, 255}
				if d := x - 30 - y/2; d >= -1 && d <= 1 {
					c = color.RGBA{110, 78, 44, 255}
				}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img) // writing to memory does not fail
	return b.Bytes()
}

// demoPDF is a one-page PDF saying title.
func demoPDF(title string) []byte {
	text := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(title)
	stream := "BT /F1 18 Tf 72 720 Td (" + text + ") Tj ET"
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}
