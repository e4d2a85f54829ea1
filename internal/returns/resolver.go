package returns

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// Reason says why no destination could be produced.
type Reason string

const (
	ReasonDisabled      Reason = "disabled"       // no provider, or not configured
	ReasonLookupMissing Reason = "lookup_missing" // the order lacks the postal code/email/phone Loop needs
	ReasonLoopAuth      Reason = "loop_auth"      // Loop refused the key (bad key or no Orders scope)
	ReasonOrderUnknown  Reason = "order_unknown"  // Loop does not know the order
	ReasonLoopDown      Reason = "loop_down"      // Loop did not answer usefully
)

// Failure is the resolver's error: a reason to branch on, and the plain
// portal link to offer instead when the merchant configured one.
type Failure struct {
	Reason      Reason
	FallbackURL string
	Err         error
}

func (f *Failure) Error() string {
	if f.Err != nil {
		return fmt.Sprintf("returns: %s: %v", f.Reason, f.Err)
	}
	return "returns: " + string(f.Reason)
}

func (f *Failure) Unwrap() error { return f.Err }

// Destination is where the shopper should go.
type Destination struct {
	URL      string
	Provider Provider
	// Via says how it was made: "loop_api" (deep link from Loop's API),
	// "loop_portal" (the portal URL with order and lookup value, no API
	// key), "portal" (a portal URL with or without parameters).
	Via string
}

// DeepLinker is the part of the Loop client the resolver needs.
type DeepLinker interface {
	CreateDeepLink(ctx context.Context, apiKey string, r loop.DeepLinkRequest) (loop.DeepLink, error)
}

// LoopLinker adapts a Loop client (any key) to DeepLinker.
type LoopLinker struct{ Client *loop.Client }

// CreateDeepLink calls Loop with the shop's key.
func (l LoopLinker) CreateDeepLink(ctx context.Context, apiKey string, r loop.DeepLinkRequest) (loop.DeepLink, error) {
	return l.Client.WithKey(apiKey).CreateDeepLink(ctx, r)
}

// Request is one "Start a return" / "Initiate return".
type Request struct {
	ShopID   int64
	Order    *commerce.Order
	Customer *commerce.Customer // may be nil (guest order)
	Actor    audit.Actor
	Action   string // audit action; default audit.ActionReturnLink
	// Config is the configuration to resolve with: the published one for
	// shoppers and agents, the draft for an admin's preview.
	Config Config
}

// Resolver is the one place both the hub and the desk ask where a return
// starts. Loop deep links are cached per order for LinkTTL, and concurrent
// requests for the same order share one Loop call, so a double click costs
// a single request to Loop.
type Resolver struct {
	Loop    DeepLinker
	Audit   *audit.Log
	LinkTTL time.Duration

	mu       sync.Mutex
	cache    map[string]cachedLink
	inflight map[string]*linkCall
	now      func() time.Time
}

type cachedLink struct {
	url     string
	expires time.Time
}

type linkCall struct {
	done chan struct{}
	url  string
	err  error
}

// maxCachedLinks bounds the link cache. Past it, expired links are swept
// and, if that is not enough, the cache starts over: a link is cheap to ask
// Loop for again, memory under a flood of orders is not.
const maxCachedLinks = 10_000

func (r *Resolver) sweepLocked() {
	now := r.now()
	for k, c := range r.cache {
		if !now.Before(c.expires) {
			delete(r.cache, k)
		}
	}
	if len(r.cache) >= maxCachedLinks*3/4 {
		r.cache = map[string]cachedLink{}
	}
}

// NewResolver returns a resolver; links are cached for 10 minutes.
func NewResolver(linker DeepLinker, log *audit.Log) *Resolver {
	return &Resolver{Loop: linker, Audit: log, LinkTTL: 10 * time.Minute,
		cache: map[string]cachedLink{}, inflight: map[string]*linkCall{}, now: time.Now}
}

// Resolve returns the destination or a *Failure, and audit-logs either.
func (r *Resolver) Resolve(ctx context.Context, req Request) (*Destination, error) {
	dest, err := r.resolve(ctx, req)
	entry := audit.Entry{
		Actor: req.Actor, Action: req.Action, Subject: req.Order.Name, Provider: string(req.Config.Returns.Provider),
		Outcome: audit.OutcomeOK, Details: map[string]any{"order_id": req.Order.ID},
	}
	if entry.Action == "" {
		entry.Action = audit.ActionReturnLink
	}
	if dest != nil {
		entry.Details["via"] = dest.Via
	}
	var f *Failure
	if errors.As(err, &f) {
		entry.Outcome = audit.OutcomeFailed
		entry.Details["reason"] = string(f.Reason)
		entry.Details["fallback_offered"] = f.FallbackURL != ""
	}
	if r.Audit != nil {
		if aerr := r.Audit.Record(context.WithoutCancel(ctx), req.ShopID, entry); aerr != nil && err == nil {
			return nil, aerr
		}
	}
	return dest, err
}

func (r *Resolver) resolve(ctx context.Context, req Request) (*Destination, error) {
	rt, err := plan(req.Config, req.Order, req.Customer)
	if err != nil {
		return nil, err
	}
	if !rt.loopAPI {
		return &rt.dest, nil
	}
	if rt.lookup == "" {
		return nil, &Failure{Reason: ReasonLookupMissing, FallbackURL: rt.fallback}
	}
	url, err := r.deepLink(ctx, req.ShopID, req.Config.Returns.LoopAPIKey, req.Order, rt.lookup)
	if err != nil {
		reason := ReasonLoopDown
		switch loop.KindOf(err) {
		case loop.KindUnauthorized, loop.KindMissingScope:
			reason = ReasonLoopAuth
		case loop.KindNotFound, loop.KindInvalid:
			reason = ReasonOrderUnknown
		}
		return nil, &Failure{Reason: reason, FallbackURL: rt.fallback, Err: err}
	}
	return &Destination{URL: url, Provider: rt.dest.Provider, Via: "loop_api"}, nil
}

// route is where a configuration sends an order, decided without asking
// any platform: a destination ready to go, or — for Loop with an API key —
// the lookup value to ask Loop's API with and the portal fallback.
type route struct {
	dest     Destination
	loopAPI  bool
	lookup   string
	fallback string
}

// plan is the one place a return destination is built, for the real click
// (Resolve) and the settings preview (Preview) alike.
func plan(cfg Config, o *commerce.Order, c *commerce.Customer) (route, error) {
	if !cfg.ReturnsEnabled() {
		return route{}, &Failure{Reason: ReasonDisabled}
	}
	p := cfg.Returns.Provider
	switch p {
	case ProviderOther:
		return route{dest: Destination{URL: cfg.Returns.PortalURL, Provider: p, Via: "portal"}}, nil
	case ProviderAfterShip, ProviderParcelLab, ProviderNarvar:
		names := cfg.ParamsFor(p)
		who := [2]string{names.Email, orderEmail(o, c)}
		if cfg.Returns.PortalLookup == LookupZip {
			who = [2]string{names.Postal, o.ShippingAddress.Zip}
		}
		u, err := PortalURL(cfg.Returns.PortalURL, [2]string{names.Order, o.Name}, who)
		if err != nil {
			return route{}, &Failure{Reason: ReasonDisabled, Err: err}
		}
		return route{dest: Destination{URL: u, Provider: p, Via: "portal"}}, nil
	}
	// Loop.
	field, lookup := lookupValue(cfg.Returns.LookupField, o, c)
	fallback := ""
	if cfg.Returns.LoopPortalURL != "" {
		fallback, _ = PortalURL(cfg.Returns.LoopPortalURL, [2]string{"order", o.Name}, [2]string{string(field), lookup})
	}
	if cfg.Returns.LoopAPIKey == "" {
		return route{dest: Destination{URL: fallback, Provider: p, Via: "loop_portal"}}, nil
	}
	return route{dest: Destination{Provider: p}, loopAPI: true, lookup: lookup, fallback: fallback}, nil
}

// Preview is what the settings page shows for a sample order: the URL the
// click would go to, or, when Loop's API makes the link at click time, a
// sentence saying so.
type Preview struct {
	URL  string // the destination when it is known without asking Loop
	Note string // what happens instead, when URL is ""
	// FallbackURL is the Loop portal link offered when Loop cannot make
	// a deep link.
	FallbackURL string
}

// Text is the preview as one line for the page.
func (p Preview) Text() string {
	switch {
	case p.URL != "":
		return p.URL
	case p.FallbackURL != "":
		return p.Note + "; if Loop cannot make one: " + p.FallbackURL
	}
	return p.Note
}

// PreviewFor describes where cfg sends the order, through the same code
// as Resolve but without calling Loop or writing the audit log.
func PreviewFor(cfg Config, o *commerce.Order, c *commerce.Customer) Preview {
	rt, err := plan(cfg, o, c)
	switch {
	case err != nil:
		return Preview{Note: "— (no Start a return button)"}
	case !rt.loopAPI:
		return Preview{URL: rt.dest.URL}
	case rt.lookup == "":
		return Preview{Note: "Loop cannot be asked for " + o.Name + ": the order has no " + lookupNoun(cfg.Returns.LookupField), FallbackURL: rt.fallback}
	}
	return Preview{Note: "A deep link created by Loop for " + o.Name + " when the shopper presses the button", FallbackURL: rt.fallback}
}

func lookupNoun(f LookupField) string {
	switch f {
	case LookupEmail:
		return "email"
	case LookupPhone:
		return "phone number"
	}
	return "shipping postal code"
}

// orderEmail is the order's email, or its customer's for an order placed
// without one.
func orderEmail(o *commerce.Order, c *commerce.Customer) string {
	if o.Email == "" && c != nil {
		return c.Email
	}
	return o.Email
}

// lookupValue picks what Loop's portal matches the order on.
func lookupValue(field LookupField, o *commerce.Order, c *commerce.Customer) (LookupField, string) {
	switch field {
	case LookupEmail:
		return field, orderEmail(o, c)
	case LookupPhone:
		if o.ShippingAddress.Phone != "" {
			return field, o.ShippingAddress.Phone
		}
		if c != nil {
			return field, c.Phone
		}
	default:
		return LookupZip, o.ShippingAddress.Zip
	}
	return field, ""
}

func (r *Resolver) deepLink(ctx context.Context, shopID int64, apiKey string, o *commerce.Order, lookup string) (string, error) {
	key := linkKey(shopID, apiKey, o.Name, lookup)
	r.mu.Lock()
	if c, ok := r.cache[key]; ok && r.now().Before(c.expires) {
		r.mu.Unlock()
		return c.url, nil
	}
	if call, ok := r.inflight[key]; ok {
		r.mu.Unlock()
		select {
		case <-call.done:
			return call.url, call.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	call := &linkCall{done: make(chan struct{})}
	r.inflight[key] = call
	r.mu.Unlock()

	// The Loop call outlives a shopper who gives up waiting, so the next
	// click finds the link cached.
	link, err := r.Loop.CreateDeepLink(context.WithoutCancel(ctx), apiKey, loop.DeepLinkRequest{OrderName: o.Name, Lookup: lookup})
	call.url, call.err = link.URL, err

	r.mu.Lock()
	delete(r.inflight, key)
	if err == nil {
		if len(r.cache) >= maxCachedLinks {
			r.sweepLocked()
		}
		r.cache[key] = cachedLink{url: link.URL, expires: r.now().Add(r.LinkTTL)}
	}
	r.mu.Unlock()
	close(call.done)
	return call.url, call.err
}

// Eligibility asks Loop, with the shop's key, which items of an order can
// be returned.
func (l LoopLinker) Eligibility(ctx context.Context, apiKey, orderName string) (loop.Eligibility, error) {
	return l.Client.WithKey(apiKey).Eligibility(ctx, orderName)
}

// Issued reports whether url is a link the resolver gives for the order
// without asking anyone now: the portal link the configuration builds,
// Loop's portal fallback, or a Loop deep link it made and still caches.
// A QR download accepts only such links, so it is never a QR generator
// for any URL a request names.
func (r *Resolver) Issued(shopID int64, cfg Config, o *commerce.Order, c *commerce.Customer, url string) bool {
	if url == "" {
		return false
	}
	rt, err := plan(cfg, o, c)
	if err != nil {
		return false
	}
	if url == rt.dest.URL || url == rt.fallback {
		return true
	}
	if !rt.loopAPI || rt.lookup == "" {
		return false
	}
	key := linkKey(shopID, cfg.Returns.LoopAPIKey, o.Name, rt.lookup)
	r.mu.Lock()
	defer r.mu.Unlock()
	cached, ok := r.cache[key]
	return ok && cached.url == url && r.now().Before(cached.expires)
}

// linkKey names a cached deep link: the shop, which key asked, the order
// and the lookup value Loop matched it with.
func linkKey(shopID int64, apiKey, orderName, lookup string) string {
	return strconv.FormatInt(shopID, 10) + "|" + loop.KeyID(apiKey) + "|" + orderName + "|" + lookup
}
