package loopsync_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/live"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// env is a hubdesk on loopback whose Loop is a sandbox on loopback.
type env struct {
	t     testing.TB
	db    *database.DB
	app   *testapp.App
	tn    *testapp.Tenant
	sb    *sandbox.Sandbox
	sbURL string
}

func newEnv(t testing.TB, db *database.DB, opts sandbox.Options) *env {
	opts.NoSeed = true
	if opts.WebhookBackoff == 0 {
		opts.WebhookBackoff = 20 * time.Millisecond
	}
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	t.Cleanup(sb.Close)
	sb.SetBaseURL(srv.URL)
	app := testapp.New(t, db, testapp.WithLoop(srv.URL))
	tn := app.NewTenant("a")
	jobstest.Work(t, app.Server.Jobs)
	return &env{t: t, db: db, app: app, tn: tn, sb: sb, sbURL: srv.URL}
}

// connect saves the shop's Loop key and webhook secret as an admin would.
func (e *env) connect(key string) {
	e.t.Helper()
	rc := returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: key, LoopWebhookSecret: e.sb.WebhookSecret(),
		LoopPortalURL: e.sbURL + "/portal/", LookupField: returns.LookupZip}
	if _, err := e.app.Server.Settings.SaveReturns(context.Background(), e.tn.Shop.ID, rc, settings.SaveOptions{},
		audit.Actor{Kind: audit.ActorSystem, Label: "test"}); err != nil {
		e.t.Fatal(err)
	}
}

// order stores an order in hubdesk and tells the sandbox about it, under
// the same platform id.
func (e *env) order(externalID int64, name string, delivered time.Time) *commerce.Order {
	e.t.Helper()
	o := e.app.NamedOrder(e.tn, strconv.FormatInt(externalID, 10), name, "ada@example.com")
	e.sb.AddOrder(sandbox.Order{Name: name, ProviderOrderID: externalID, Email: "ada@example.com", Zip: "10115", DeliveredAt: delivered,
		Items: []sandbox.Item{{Title: "Linen shirt", SKU: "LS-M", Price: "49.00"}, {Title: "Socks", SKU: "SO-1", Price: "9.00"}}})
	return o
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) stored(returnID int64) *returns.Return {
	e.t.Helper()
	r, err := e.app.Server.Returns.Get(context.Background(), e.tn.Shop.ID, returns.ProviderLoop, strconv.FormatInt(returnID, 10))
	if err != nil {
		return nil
	}
	return r
}

func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	jobstest.Eventually(e.t, what, cond)
}

// post delivers body to the shop's webhook route, signed with secret.
func (e *env) post(body, secret string) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/webhooks/loop/"+e.tn.Shop.Domain, strings.NewReader(body))
	req.Header.Set(loop.SignatureHeader, loop.Sign([]byte(body), secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// settled waits until every webhook event is processed and no Loop job is
// left to run.
//
// It also waits for the periodic reconciliation's first run, which the job
// queue's leader starts once elected — seconds late on a busy machine — so
// that it cannot move a watermark under a test that set its own.
func (e *env) settled() {
	e.t.Helper()
	e.eventually("webhooks processed and Loop jobs done", func() bool {
		return e.count(`SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL`) == 0 &&
			e.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'loop_reconcile_all' AND state = 'completed'`) > 0 &&
			e.count(`SELECT COUNT(*) FROM river_job WHERE kind LIKE 'loop_%' AND state NOT IN ('completed', 'discarded', 'cancelled')`) == 0
	})
}

func hooksTo(sb *sandbox.Sandbox, key, url string) int {
	c := loop.New(loop.Options{APIKey: key, BaseURL: sb.BaseURL(), MaxAttempts: 1})
	hooks, err := c.ListWebhooks(context.Background())
	if err != nil {
		return -1
	}
	n := 0
	for _, h := range hooks {
		if h.URL == url && h.Status == loop.WebhookActive {
			n++
		}
	}
	return n
}

// Saving a key with the Developer Tools scope subscribes the shop's URL
// to the six topics (Loop answers 201); the sandbox's signed webhooks then
// keep the stored return in step as it moves through its life, and an
// open page is told; a new key without the scope removes the old key's
// subscriptions and registers none; saving twice adds nothing.
func TestSubscriptionsAndSignedWebhooksEndToEnd(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, sandbox.Options{})
		url := e.app.URL + "/webhooks/loop/" + e.tn.Shop.Domain
		order := e.order(7001, "#7001", time.Now().Add(-48*time.Hour))
		stream, err := e.app.Server.Live.Open(e.tn.Shop.ID, e.tn.Agent.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()

		e.connect(sandbox.KeyFull)
		e.settled()
		if n := hooksTo(e.sb, sandbox.KeyFull, url); n != len(loop.Subscriptions) {
			t.Fatalf("%d active subscriptions to %s, want %d", n, url, len(loop.Subscriptions))
		}
		if _, err := e.app.Server.LoopSync.Subscribe(context.Background(), e.tn.Shop.ID); err != nil || hooksTo(e.sb, sandbox.KeyFull, url) != len(loop.Subscriptions) {
			t.Fatalf("subscribing again changed the subscriptions: %v", err)
		}

		info, err := e.sb.CreateReturn(sandbox.ReturnSpec{ProviderOrderID: 7001, Reason: "Too small"})
		if err != nil {
			t.Fatal(err)
		}
		e.sb.WaitDeliveries()
		e.settled()
		r := e.stored(info.ID)
		if r == nil || r.State != returns.StateOpen || r.OrderID != order.ID {
			t.Fatalf("after return.created: %+v", r)
		}
		if len(r.LineItems) != 2 || r.LineItems[0].Title != "Linen shirt" || r.LineItems[0].Reason != "Too small" || r.LineItems[0].Quantity != 1 {
			t.Fatalf("returned items: %+v", r.LineItems)
		}
		select {
		case ev := <-stream.Events:
			if ev.What != live.WhatReturns || ev.Orders != strconv.FormatInt(order.ID, 10) {
				t.Fatalf("live event %+v", ev)
			}
		case <-time.After(30 * time.Second): // a guard against hanging
			t.Fatal("no live event for the new return")
		}

		// Label created, then in transit: the label webhook and a
		// return.updated whose edited_at did not move (the sandbox, like
		// Loop, edits the label only) — re-read from Loop's details.
		for range 2 {
			if _, err := e.sb.AdvanceReturn(info.ID); err != nil {
				t.Fatal(err)
			}
		}
		e.sb.WaitDeliveries()
		e.settled()
		r = e.stored(info.ID)
		if r.LabelStatus != "in_transit" || r.Carrier != "USPS" || r.TrackingNumber == "" ||
			!strings.HasPrefix(r.TrackingURL, "https://tools.usps.com/") {
			t.Fatalf("after the label moved: %+v", r)
		}

		// Processing fails: the return shows Loop's message until it moves on.
		if _, err := e.sb.FailProcessing(info.ID, "Refund could not be issued"); err != nil {
			t.Fatal(err)
		}
		e.sb.WaitDeliveries()
		e.settled()
		if r = e.stored(info.ID); !r.ProcessingFailed || r.ProcessingError != "Refund could not be issued" {
			t.Fatalf("after return.processing.failed: %+v", r)
		}
		time.Sleep(2100 * time.Millisecond) // Loop's times have whole seconds: the close must be more than a second newer
		if _, err := e.sb.SetReturnState(info.ID, loop.StateClosed); err != nil {
			t.Fatal(err)
		}
		e.sb.WaitDeliveries()
		e.settled()
		if r = e.stored(info.ID); r.State != returns.StateClosed || r.ProcessingFailed || r.ProcessingError != "" {
			t.Fatalf("after return.closed: %+v", r)
		}

		// A key without Developer Tools: the old key's subscriptions are
		// removed with the old key, none are made, and the old key is
		// not kept.
		e.connect(sandbox.KeyReturns)
		e.settled()
		if n := hooksTo(e.sb, sandbox.KeyFull, url); n != 0 {
			t.Fatalf("%d subscriptions left after the key changed", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM loop_subscription_cleanups`); n != 0 {
			t.Fatalf("%d old keys still kept", n)
		}
		if e.count(`SELECT COUNT(*) FROM webhook_events`) == 0 {
			t.Fatal("no webhook reached the intake")
		}
	})
}

// Deliveries hubdesk cannot verify are refused and store nothing; ids come
// as integers or strings; "N/A" times do not break an event; a delivery
// older than or equal to the stored return is re-read from Loop, so the
// stored return is what Loop says now; the same delivery twice is one.
func TestWebhookVerificationAndOrdering(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, sandbox.Options{})
		order := e.order(7101, "#7101", time.Now().Add(-48*time.Hour))
		e.connect(sandbox.KeyReturns) // no Developer Tools: the test delivers by hand
		e.settled()
		info, err := e.sb.SeedReturn(sandbox.ReturnSpec{ProviderOrderID: 7101, State: loop.StateOpen,
			CreatedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		id := strconv.FormatInt(info.ID, 10)
		body := func(idJSON, state, editedAt string) string {
			return `{"topic":"return","trigger":"return.updated","shop_id":9876,"id":` + idJSON + `,"state":"` + state +
				`","created_at":"2026-11-02T10:00:00.000Z","edited_at":"` + editedAt + `","order_id":1,"order_name":"#7101",` +
				`"provider_order_id":7101,"status_page_url":"https:\/\/loop.example\/s","line_items":[],"carrier":"N\/A","tracking_number":"N\/A","label_status":"N\/A"}`
		}

		// Not signed with the shop's secret: 401, nothing stored.
		if code := e.post(body(id, "open", "2026-11-03T10:00:00.000Z"), "not-the-secret"); code != http.StatusUnauthorized {
			t.Fatalf("bad signature: %d, want 401", code)
		}
		if n := e.count(`SELECT COUNT(*) FROM webhook_events`); n != 0 {
			t.Fatalf("%d events stored from a bad signature", n)
		}

		// An integer id, a newer edited_at: applied as sent.
		if code := e.post(body(id, "review", "2026-11-04T10:00:00.000Z"), e.sb.WebhookSecret()); code != http.StatusOK {
			t.Fatalf("signed: %d", code)
		}
		e.settled()
		if r := e.stored(info.ID); r == nil || r.State != returns.StateReview || r.OrderID != order.ID {
			t.Fatalf("integer id event: %+v", r)
		}
		// The same bytes again: one event.
		e.post(body(id, "review", "2026-11-04T10:00:00.000Z"), e.sb.WebhookSecret())
		e.settled()
		if n := e.count(`SELECT COUNT(*) FROM webhook_events`); n != 1 {
			t.Fatalf("%d events for one delivery sent twice", n)
		}

		// Older, as a string id: not applied; re-read from Loop, which says
		// open (its own current state) — stored as Loop says now.
		before := len(e.sb.Requests())
		e.post(body(`"`+id+`"`, "closed", "2026-11-03T12:00:00.000Z"), e.sb.WebhookSecret())
		e.settled()
		r := e.stored(info.ID)
		if r.State == returns.StateClosed {
			t.Fatal("an older event was applied")
		}
		if !readDetails(e.sb.Requests()[before:], id) {
			t.Fatal("the older event was not re-read from Loop's details")
		}

		// A label event whose time is "N/A": no version to order it by, so
		// it is re-read too, and the event is not an error.
		before = len(e.sb.Requests())
		e.post(`{"topic":"label","trigger":"label.updated","shop_id":"9876","id":`+id+`,"order_id":1,"provider_order_id":7101,`+
			`"carrier":"UPS","tracking_number":"1Z9","label_status":"in_transit","label_updated_at":"N\/A","shipment_id":"5"}`, e.sb.WebhookSecret())
		e.settled()
		if !readDetails(e.sb.Requests()[before:], id) {
			t.Fatal("the label event without a time was not re-read")
		}
		if n := e.count(`SELECT COUNT(*) FROM webhook_events WHERE error <> ''`); n != 0 {
			t.Fatalf("%d events failed", n)
		}
	})
}

func readDetails(reqs []sandbox.RequestRecord, id string) bool {
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, "/warehouse/return/details") && strings.Contains(r.Query, "return_id="+id) {
			return true
		}
	}
	return false
}

// The key check's Developer Tools probe got no useful answer (a gateway
// timeout) while the other scopes were granted: the key is saved with
// that scope unknown, and the webhooks are registered all the same once
// Loop answers — a doubt must not leave the shop without webhooks.
func TestWebhooksRegisteredWhenTheScopeCheckGotNoAnswer(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		sb := sandbox.New(sandbox.Options{NoSeed: true, WebhookBackoff: 20 * time.Millisecond})
		var timedOut atomic.Bool
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/webhooks") && timedOut.CompareAndSwap(false, true) {
				http.Error(w, "upstream timed out", http.StatusGatewayTimeout)
				return
			}
			sb.ServeHTTP(w, r)
		}))
		t.Cleanup(front.Close)
		t.Cleanup(sb.Close)
		sb.SetBaseURL(front.URL)
		app := testapp.New(t, db, testapp.WithLoop(front.URL))
		tn := app.NewTenant("a")
		jobstest.Work(t, app.Server.Jobs)
		e := &env{t: t, db: db, app: app, tn: tn, sb: sb, sbURL: front.URL}
		e.connect(sandbox.KeyFull)
		if !timedOut.Load() {
			t.Fatal("the Developer Tools probe was not sent")
		}
		url := app.Server.LoopSync.WebhookURL(tn.Shop)
		e.eventually("the webhooks registered", func() bool { return hooksTo(sb, sandbox.KeyFull, url) == len(loop.Subscriptions) })
	})
}
