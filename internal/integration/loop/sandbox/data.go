package sandbox

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// Order is an order the sandbox's Loop knows about. Only Name and a lookup
// value (Zip, Email or Phone) are needed; the rest has defaults.
type Order struct {
	Name        string // "#1001"
	Email       string
	Zip         string
	Phone       string
	FirstName   string
	LastName    string
	Currency    string    // default "USD"
	CreatedAt   time.Time // default: a week before delivery, or now
	DeliveredAt time.Time // zero: not delivered, so nothing is eligible yet
	// ReturnWindowDays after delivery during which items are eligible
	// (default 30).
	ReturnWindowDays int
	Items            []Item // default: one item
	// ID is Loop's order id and ProviderOrderID the store's; assigned when 0.
	ID              int64
	ProviderOrderID int64
}

// Item is an order line.
type Item struct {
	ID        int64  // the store's line item id; assigned when 0
	Title     string // default "Item"
	SKU       string
	Price     string // decimal, default "25.00"
	ProductID int64
	VariantID int64
}

type order struct {
	Order
	loopItemIDs []int64 // Loop's line item ids, parallel to Items
}

// ReturnSpec describes a return to seed or create.
type ReturnSpec struct {
	OrderName string
	// ProviderOrderID picks the order by the store's id instead, for
	// stores whose order names repeat.
	ProviderOrderID int64
	State           loop.State // default open
	Outcome         string     // default "refund"
	// Carrier, TrackingNumber and LabelStatus describe the return label;
	// leave them empty for a return without one yet (Loop says "N/A").
	Carrier        string
	TrackingNumber string
	LabelStatus    string
	// Items are indexes into the order's Items; nil returns all of them.
	Items     []int
	Reason    string    // default "Too small"
	CreatedAt time.Time // default now
	UpdatedAt time.Time // default CreatedAt
}

// ReturnInfo is a return as the sandbox's Go API reports it.
type ReturnInfo struct {
	ID              int64      `json:"id"`
	OrderName       string     `json:"order_name"`
	ProviderOrderID int64      `json:"provider_order_id"` // the store's order id
	State           loop.State `json:"state"`
	Outcome         string     `json:"outcome"`
	Carrier         string     `json:"carrier"`
	TrackingNumber  string     `json:"tracking_number"`
	LabelStatus     string     `json:"label_status"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

type ret struct {
	id         int64
	uuid       string
	order      *order
	items      []int // indexes into order.Items
	state      loop.State
	outcome    string
	reason     string
	carrier    string
	tracking   string
	label      string
	labelAt    time.Time
	shipmentID int64
	createdAt  time.Time
	updatedAt  time.Time
	editedAt   time.Time
}

func (r *ret) info() ReturnInfo {
	return ReturnInfo{
		ID: r.id, OrderName: r.order.Name, ProviderOrderID: r.order.ProviderOrderID, State: r.state, Outcome: r.outcome,
		Carrier: r.carrier, TrackingNumber: r.tracking, LabelStatus: r.label,
		CreatedAt: r.createdAt, UpdatedAt: r.updatedAt,
	}
}

func (r *ret) hasLabel() bool { return r.tracking != "" }

type deepLink struct {
	uuid    string
	order   *order
	gift    bool
	created time.Time
}

type qrImage struct {
	uuid string
	link string
	kind string
	size int
}

// Errors from the Go API.
var (
	ErrUnknownOrder  = errors.New("loop sandbox: unknown order")
	ErrUnknownReturn = errors.New("loop sandbox: unknown return")
	ErrFinalState    = errors.New("loop sandbox: return is in a final state")
)

// AddOrder adds an order, or replaces the one with the same store id (or,
// when none is given, the same name), and returns it with its defaults
// filled in. Orders given distinct store ids may share a name, as they can
// in a store.
func (s *Sandbox) AddOrder(o Order) Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addOrderLocked(o).Order
}

func (s *Sandbox) addOrderLocked(o Order) *order {
	now := s.now()
	if o.Currency == "" {
		o.Currency = "USD"
	}
	if o.ReturnWindowDays == 0 {
		o.ReturnWindowDays = 30
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
		if !o.DeliveredAt.IsZero() {
			o.CreatedAt = o.DeliveredAt.Add(-7 * 24 * time.Hour)
		}
	}
	if o.ID == 0 {
		o.ID = 7300000 + s.allocID()
	}
	given := o.ProviderOrderID != 0
	if !given {
		o.ProviderOrderID = 5400000000000 + o.ID
	}
	if len(o.Items) == 0 {
		o.Items = []Item{{Title: "Item"}}
	}
	oo := &order{}
	for i := range o.Items {
		it := &o.Items[i]
		if it.ID == 0 {
			it.ID = 12000000000000 + s.allocID()
		}
		if it.Title == "" {
			it.Title = "Item"
		}
		if it.Price == "" {
			it.Price = "25.00"
		}
		if it.SKU == "" {
			it.SKU = "SKU-" + strconv.FormatInt(it.ID%100000, 10)
		}
		if it.ProductID == 0 {
			it.ProductID = 8000000000 + s.allocID()
		}
		if it.VariantID == 0 {
			it.VariantID = 9000000000 + s.allocID()
		}
		oo.loopItemIDs = append(oo.loopItemIDs, 61000000+s.allocID())
	}
	oo.Order = o
	for i, existing := range s.orders {
		if (given && existing.ProviderOrderID == o.ProviderOrderID) || (!given && sameOrderName(existing.Name, o.Name)) {
			s.orders[i] = oo
			for _, r := range s.returns {
				if r.order == existing {
					r.order = oo
				}
			}
			return oo
		}
	}
	s.orders = append(s.orders, oo)
	return oo
}

func (s *Sandbox) allocID() int64 {
	s.nextID++
	return s.nextID
}

// sameOrderName compares order names with or without the leading "#", which
// the contract does not pin down for lookups (README.md).
func sameOrderName(a, b string) bool {
	norm := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "#") }
	return strings.EqualFold(norm(a), norm(b))
}

func (s *Sandbox) orderByNameLocked(name string) *order {
	for _, o := range s.orders {
		if sameOrderName(o.Name, name) {
			return o
		}
	}
	return nil
}

func (s *Sandbox) orderByProviderIDLocked(id int64) *order {
	for _, o := range s.orders {
		if o.ProviderOrderID == id {
			return o
		}
	}
	return nil
}

func (s *Sandbox) returnByIDLocked(id int64) *ret {
	for _, r := range s.returns {
		if r.id == id {
			return r
		}
	}
	return nil
}

// Returns lists the returns of an order ("" for all), oldest first.
func (s *Sandbox) Returns(orderName string) []ReturnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ReturnInfo
	for _, r := range s.returns {
		if orderName == "" || sameOrderName(r.order.Name, orderName) {
			out = append(out, r.info())
		}
	}
	return out
}

// SeedReturn adds a return without sending webhooks: for building a starting
// state.
func (s *Sandbox) SeedReturn(spec ReturnSpec) (ReturnInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.newReturnLocked(spec)
	if err != nil {
		return ReturnInfo{}, err
	}
	return r.info(), nil
}

// CreateReturn adds a return as a shopper would, sending return.created (and
// label.created when it comes with a label) to subscribers.
func (s *Sandbox) CreateReturn(spec ReturnSpec) (ReturnInfo, error) {
	s.mu.Lock()
	r, err := s.newReturnLocked(spec)
	if err != nil {
		s.mu.Unlock()
		return ReturnInfo{}, err
	}
	events := []event{s.returnEventLocked(r, loop.TriggerReturnCreated)}
	if r.hasLabel() {
		events = append(events, s.labelEventLocked(r, loop.TriggerLabelCreated))
	}
	info := r.info()
	s.mu.Unlock()
	s.dispatch(events)
	return info, nil
}

func (s *Sandbox) newReturnLocked(spec ReturnSpec) (*ret, error) {
	o := s.orderByNameLocked(spec.OrderName)
	if spec.ProviderOrderID != 0 {
		o = s.orderByProviderIDLocked(spec.ProviderOrderID)
	}
	if o == nil {
		return nil, fmt.Errorf("%w %q (%d)", ErrUnknownOrder, spec.OrderName, spec.ProviderOrderID)
	}
	now := s.now()
	r := &ret{
		id: 48210000 + s.allocID(), uuid: newUUID(), order: o,
		state: spec.State, outcome: spec.Outcome, reason: spec.Reason,
		carrier: spec.Carrier, tracking: spec.TrackingNumber, label: spec.LabelStatus,
		createdAt: spec.CreatedAt, updatedAt: spec.UpdatedAt,
	}
	if r.state == "" {
		r.state = loop.StateOpen
	}
	if !r.state.Valid() {
		return nil, fmt.Errorf("loop sandbox: unknown state %q", r.state)
	}
	if r.outcome == "" {
		r.outcome = "refund"
	}
	if r.reason == "" {
		r.reason = "Too small"
	}
	if r.createdAt.IsZero() {
		r.createdAt = now
	}
	if r.updatedAt.IsZero() {
		r.updatedAt = r.createdAt
	}
	r.editedAt = r.updatedAt
	if r.tracking != "" {
		if r.carrier == "" {
			r.carrier = "USPS"
		}
		if r.label == "" {
			r.label = "pre_transit"
		}
		r.labelAt = r.updatedAt
		r.shipmentID = 33000000 + s.allocID()
	}
	if spec.Items == nil {
		for i := range o.Items {
			r.items = append(r.items, i)
		}
	} else {
		for _, i := range spec.Items {
			if i < 0 || i >= len(o.Items) {
				return nil, fmt.Errorf("loop sandbox: order %s has no item %d", o.Name, i)
			}
			r.items = append(r.items, i)
		}
	}
	s.returns = append(s.returns, r)
	return r, nil
}

// SetReturnState moves a return to state, sending return.closed when it
// closes and return.updated otherwise.
func (s *Sandbox) SetReturnState(id int64, state loop.State) (ReturnInfo, error) {
	if !state.Valid() {
		return ReturnInfo{}, fmt.Errorf("loop sandbox: unknown state %q", state)
	}
	s.mu.Lock()
	r := s.returnByIDLocked(id)
	if r == nil {
		s.mu.Unlock()
		return ReturnInfo{}, fmt.Errorf("%w %d", ErrUnknownReturn, id)
	}
	events := s.setStateLocked(r, state)
	info := r.info()
	s.mu.Unlock()
	s.dispatch(events)
	return info, nil
}

func (s *Sandbox) setStateLocked(r *ret, state loop.State) []event {
	if r.state == state {
		return nil
	}
	r.state = state
	r.updatedAt = s.now()
	r.editedAt = r.updatedAt
	trigger := loop.TriggerReturnUpdated
	if state == loop.StateClosed {
		trigger = loop.TriggerReturnClosed
	}
	return []event{s.returnEventLocked(r, trigger)}
}

// SetLabel gives a return a label or changes its status, sending
// label.created or label.updated, and return.updated (the return's carrier
// and tracking fields changed too).
func (s *Sandbox) SetLabel(id int64, carrier, tracking, status string) (ReturnInfo, error) {
	s.mu.Lock()
	r := s.returnByIDLocked(id)
	if r == nil {
		s.mu.Unlock()
		return ReturnInfo{}, fmt.Errorf("%w %d", ErrUnknownReturn, id)
	}
	events := s.setLabelLocked(r, carrier, tracking, status)
	info := r.info()
	s.mu.Unlock()
	s.dispatch(events)
	return info, nil
}

func (s *Sandbox) setLabelLocked(r *ret, carrier, tracking, status string) []event {
	created := !r.hasLabel()
	if carrier != "" {
		r.carrier = carrier
	}
	if tracking != "" {
		r.tracking = tracking
	}
	if r.tracking == "" {
		r.tracking = fmt.Sprintf("9400%018d", r.id)
	}
	if r.carrier == "" {
		r.carrier = "USPS"
	}
	if status == "" {
		status = "pre_transit"
	}
	r.label = status
	if r.shipmentID == 0 {
		r.shipmentID = 33000000 + s.allocID()
	}
	r.labelAt = s.now()
	r.updatedAt = r.labelAt
	trigger := loop.TriggerLabelUpdated
	if created {
		trigger = loop.TriggerLabelCreated
	}
	return []event{s.labelEventLocked(r, trigger), s.returnEventLocked(r, loop.TriggerReturnUpdated)}
}

// labelSteps is the label lifecycle AdvanceReturn walks through.
var labelSteps = []string{"pre_transit", "in_transit", "out_for_delivery", "delivered"}

// AdvanceReturn moves a return one step along its usual life: review → open;
// open without a label → label created (pre_transit); then in_transit,
// out_for_delivery, delivered; then closed. Closed, cancelled and expired
// returns are final (ErrFinalState).
func (s *Sandbox) AdvanceReturn(id int64) (ReturnInfo, error) {
	s.mu.Lock()
	r := s.returnByIDLocked(id)
	if r == nil {
		s.mu.Unlock()
		return ReturnInfo{}, fmt.Errorf("%w %d", ErrUnknownReturn, id)
	}
	var events []event
	switch {
	case r.state == loop.StateReview:
		events = s.setStateLocked(r, loop.StateOpen)
	case r.state != loop.StateOpen:
		s.mu.Unlock()
		return r.info(), fmt.Errorf("%w: %d is %s", ErrFinalState, id, r.state)
	case !r.hasLabel():
		events = s.setLabelLocked(r, "", "", labelSteps[0])
	default:
		next := ""
		for i, st := range labelSteps {
			if st == r.label && i+1 < len(labelSteps) {
				next = labelSteps[i+1]
			}
		}
		if next == "" && r.label != "delivered" {
			next = labelSteps[1] // unknown or failed status: back in transit
		}
		if next != "" {
			events = s.setLabelLocked(r, "", "", next)
		} else {
			events = s.setStateLocked(r, loop.StateClosed)
		}
	}
	info := r.info()
	s.mu.Unlock()
	s.dispatch(events)
	return info, nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// seedDefault builds the standalone data set: orders in every delivery
// situation and returns in every state, with carriers, tracking numbers and
// label statuses. Times are relative to now, so "the last 24 hours" (the
// list's default window) always has something in it.
func (s *Sandbox) seedDefault() {
	now := s.now().UTC().Truncate(time.Second)
	day := 24 * time.Hour
	add := func(name, first, last, email, zip string, delivered time.Duration, items ...Item) {
		o := Order{Name: name, FirstName: first, LastName: last, Email: email, Zip: zip, Phone: "+1 555 0100", Items: items}
		if delivered >= 0 {
			o.DeliveredAt = now.Add(-delivered)
		}
		s.AddOrder(o)
	}
	tee := Item{Title: "Classic Tee - M", SKU: "TEE-M", Price: "28.00"}
	hoodie := Item{Title: "Zip Hoodie - L", SKU: "HOOD-L", Price: "64.00"}
	capItem := Item{Title: "Canvas Cap", SKU: "CAP-1", Price: "22.50"}
	sneaker := Item{Title: "Runner Sneaker - 42", SKU: "RUN-42", Price: "119.00"}

	add("#1001", "Ada", "Lovelace", "ada@example.com", "10115", 3*day, tee, capItem)
	add("#1002", "Grace", "Hopper", "grace@example.com", "94105", 10*day, hoodie)
	add("#1003", "Alan", "Turing", "alan@example.com", "SW1A 1AA", 12*day, sneaker)
	add("#1004", "Katherine", "Johnson", "katherine@example.com", "23666", 8*day, tee)
	add("#1005", "Edsger", "Dijkstra", "edsger@example.com", "5612 AZ", 25*day, hoodie, tee)
	add("#1006", "Barbara", "Liskov", "barbara@example.com", "02139", 6*day, capItem)
	add("#1007", "Donald", "Knuth", "donald@example.com", "94305", 40*day, sneaker)
	add("#1008", "Margaret", "Hamilton", "margaret@example.com", "02142", 45*day, tee)
	add("#1009", "Linus", "Torvalds", "linus@example.com", "97201", -1, hoodie)
	add("#1010", "Radia", "Perlman", "radia@example.com", "98052", 5*day, sneaker, capItem)
	add("#1011", "Frances", "Allen", "frances@example.com", "10598", 9*day, tee, hoodie)
	add("#1012", "John", "Backus", "john@example.com", "75008", 4*day, sneaker)

	seed := func(spec ReturnSpec) {
		if _, err := s.SeedReturn(spec); err != nil {
			panic(err) // the seed is a constant: a failure is a bug here
		}
	}
	seed(ReturnSpec{OrderName: "#1002", State: loop.StateOpen, CreatedAt: now.Add(-2 * time.Hour)})
	seed(ReturnSpec{OrderName: "#1003", State: loop.StateOpen, Carrier: "USPS", TrackingNumber: "9400136105440512280610", LabelStatus: "in_transit", CreatedAt: now.Add(-3 * day), UpdatedAt: now.Add(-6 * time.Hour)})
	seed(ReturnSpec{OrderName: "#1004", State: loop.StateReview, Outcome: "exchange", Carrier: "UPS", TrackingNumber: "1Z999AA10123456784", LabelStatus: "pre_transit", Reason: "Damaged", CreatedAt: now.Add(-2 * day), UpdatedAt: now.Add(-20 * time.Hour)})
	seed(ReturnSpec{OrderName: "#1005", State: loop.StateClosed, Outcome: "credit", Carrier: "FedEx", TrackingNumber: "794644790138", LabelStatus: "delivered", Items: []int{0}, CreatedAt: now.Add(-20 * day), UpdatedAt: now.Add(-5 * day)})
	seed(ReturnSpec{OrderName: "#1006", State: loop.StateCancelled, CreatedAt: now.Add(-4 * day), UpdatedAt: now.Add(-3 * day)})
	seed(ReturnSpec{OrderName: "#1007", State: loop.StateExpired, CreatedAt: now.Add(-35 * day), UpdatedAt: now.Add(-7 * day)})
	seed(ReturnSpec{OrderName: "#1010", State: loop.StateOpen, Outcome: "exchange+refund", Carrier: "DHL", TrackingNumber: "JD014600006281230704", LabelStatus: "out_for_delivery", Items: []int{0}, CreatedAt: now.Add(-1 * time.Hour)})
	seed(ReturnSpec{OrderName: "#1011", State: loop.StateClosed, Outcome: "refund", Carrier: "USPS", TrackingNumber: "9400136105440512280999", LabelStatus: "delivered", Items: []int{0}, CreatedAt: now.Add(-8 * day), UpdatedAt: now.Add(-2 * day)})
	seed(ReturnSpec{OrderName: "#1012", State: loop.StateOpen, Outcome: "exchange", Carrier: "UPS", TrackingNumber: "1Z999AA10123456799", LabelStatus: "failure", CreatedAt: now.Add(-30 * time.Hour), UpdatedAt: now.Add(-3 * time.Hour)})
}
