package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/api/apitest"
	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/qr/qrtest"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

const day = 24 * time.Hour

// loopShop is a shop on Loop (the sandbox, over real HTTP) with its job
// queue worked, so eligibility answers arrive as they would in production.
type loopShop struct {
	app       *testapp.App
	tn        *testapp.Tenant
	sb        *sandbox.Sandbox
	validator *apitest.Validator
}

// call asks the API as the shop's agent for the order id on the
// OpenAPI path given, and checks the answer against openapi.json.
func (s *loopShop) call(t *testing.T, method, path string, id int64) (int, string) {
	t.Helper()
	status, body, _ := s.app.Do(nil, method, strings.Replace(path, "{id}", fmt.Sprint(id), 1), s.app.Token(s.tn.Agent), "")
	s.validator.Validate(t, method, path, status, []byte(body))
	return status, body
}

func newLoopShop(t *testing.T, db *database.DB, opts sandbox.Options, edit ...func(*returns.Config)) *loopShop {
	t.Helper()
	opts.NoSeed = true
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	sb.SetBaseURL(srv.URL)
	app := testapp.New(t, db, testapp.WithLoop(srv.URL+"/api/v1"))
	tn := app.NewTenant("shopa")
	app.UseLoop(tn, srv.URL, edit...)
	jobstest.Work(t, app.Server.Jobs)
	return &loopShop{app: app, tn: tn, sb: sb, validator: apitest.NewValidator(t)}
}

type eligibilityAnswer struct {
	Eligible bool    `json:"eligible"`
	Reason   *string `json:"reason"`
}

func (s *loopShop) eligibility(t *testing.T, id int64) eligibilityAnswer {
	t.Helper()
	status, body := s.call(t, "GET", "/api/v1/orders/{id}/return-eligibility", id)
	if status != http.StatusOK {
		t.Fatalf("eligibility of order %d: %d %s", id, status, body)
	}
	var e eligibilityAnswer
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// settle reads every order's eligibility until Loop's answers are in the
// cache (the jobs the first reads queued have run) and no read queues
// another, then returns the answers.
func (s *loopShop) settle(t *testing.T, orders map[string]*commerce.Order) map[string]eligibilityAnswer {
	t.Helper()
	ids := make([]int64, 0, len(orders))
	for _, o := range orders {
		ids = append(ids, o.ID)
	}
	var out map[string]eligibilityAnswer
	jobstest.Eventually(t, "Loop's eligibility answers cached", func() bool {
		out = map[string]eligibilityAnswer{}
		for name, o := range orders {
			out[name] = s.eligibility(t, o.ID)
		}
		var pending int
		if err := s.app.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = 'return_eligibility' AND state NOT IN ('completed', 'discarded', 'cancelled')`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		return pending == 0
	})
	return out
}

func reasonOf(e eligibilityAnswer) string {
	if e.Reason == nil {
		return ""
	}
	return *e.Reason
}

// The one rule, with Loop's eligibility endpoint in it: the shop's facts
// first (delivered, no open or review return), then Loop's answer —
// cached per order by a job, never asked during the request — in place
// of the window; after a closed or cancelled return Loop decides again,
// and one eligible item is enough.
func TestReturnEligibilityWithLoop(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		s := newLoopShop(t, db, sandbox.Options{})
		orders := map[string]*commerce.Order{}
		for _, o := range []testapp.LoopOrder{
			{Name: "#3001", DeliveredAgo: 3 * day, Items: 2},
			{Name: "#3002", DeliveredAgo: -1},
			{Name: "#3003", DeliveredAgo: 60 * day},
			// hubdesk's window (30 days) has passed, Loop's (90) has not: Loop decides.
			{Name: "#3004", DeliveredAgo: 40 * day, LoopWindowDays: 90},
			{Name: "#3005", DeliveredAgo: 5 * day, Return: returns.StateOpen},
			{Name: "#3006", DeliveredAgo: 5 * day, Return: returns.StateReview},
			// A closed return holds one of two items: the other is still eligible.
			{Name: "#3007", DeliveredAgo: 5 * day, Items: 2, Return: returns.StateClosed, ReturnItems: []int{0}},
			{Name: "#3008", DeliveredAgo: 5 * day, Return: returns.StateCancelled},
			{Name: "#3009", DeliveredAgo: 5 * day, Return: returns.StateExpired},
		} {
			orders[o.Name] = s.app.SeedLoopOrder(s.tn, s.sb, o)
		}
		got := s.settle(t, orders)
		for name, want := range map[string]string{
			"#3001": "", "#3002": "not_delivered", "#3003": "outside_window", "#3004": "",
			"#3005": "return_open", "#3006": "return_open", "#3007": "", "#3008": "", "#3009": "",
		} {
			if e := got[name]; e.Eligible != (want == "") || reasonOf(e) != want {
				t.Errorf("%s: eligible %v reason %q, want reason %q", name, e.Eligible, reasonOf(e), want)
			}
		}
		// Loop was asked only about orders the shop's own facts left open.
		asked := map[string]bool{}
		for _, r := range s.sb.Requests() {
			if strings.HasSuffix(r.Path, "/orders/return-eligibility") {
				asked[r.Path] = true
			}
		}
		cache, err := returns.NewEligibilityCache(db).ForOrders(context.Background(), s.tn.Shop.ID,
			[]int64{orders["#3002"].ID, orders["#3005"].ID, orders["#3003"].ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := cache[orders["#3002"].ID]; ok {
			t.Error("Loop was asked about an order not delivered yet")
		}
		if _, ok := cache[orders["#3005"].ID]; ok {
			t.Error("Loop was asked about an order with an open return")
		}
		if a := cache[orders["#3003"].ID]; a.Verdict != returns.VerdictIneligible {
			t.Errorf("#3003 cached %+v, want Loop's refusal", a)
		}

		// The open return is cancelled: the cached answer is stale, a job
		// asks Loop again, and the order can start a return again.
		ctx := context.Background()
		for _, r := range s.sb.Returns("#3005") {
			if _, err := s.sb.SetReturnState(r.ID, "cancelled"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.app.Server.Returns.Upsert(ctx, s.tn.Shop.ID, returns.Return{Provider: returns.ProviderLoop,
				ExternalID: fmt.Sprint(r.ID), OrderName: "#3005", OrderExternalID: orders["#3005"].ExternalID,
				State: returns.StateCancelled, UpdatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		again := s.settle(t, map[string]*commerce.Order{"#3005": orders["#3005"]})
		if e := again["#3005"]; !e.Eligible {
			t.Errorf("after the return was cancelled: %+v, want eligible", e)
		}
	})
}

// Where the key's plan lacks Loop's eligibility endpoint, the return
// window from settings decides, counted from delivery.
func TestReturnEligibilityWithoutLoopsEndpoint(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		s := newLoopShop(t, db, sandbox.Options{NoEligibility: true})
		orders := map[string]*commerce.Order{
			"inside":  s.app.SeedLoopOrder(s.tn, s.sb, testapp.LoopOrder{Name: "#3101", DeliveredAgo: 10 * day}),
			"outside": s.app.SeedLoopOrder(s.tn, s.sb, testapp.LoopOrder{Name: "#3102", DeliveredAgo: 45 * day, LoopWindowDays: 90}),
		}
		got := s.settle(t, orders)
		if e := got["inside"]; !e.Eligible {
			t.Errorf("inside the window: %+v", e)
		}
		if e := got["outside"]; e.Eligible || reasonOf(e) != "outside_window" {
			t.Errorf("outside the window: %+v", e)
		}
		cache, err := returns.NewEligibilityCache(db).ForOrders(context.Background(), s.tn.Shop.ID, []int64{orders["inside"].ID})
		if err != nil {
			t.Fatal(err)
		}
		if a := cache[orders["inside"].ID]; a.Verdict != returns.VerdictUnavailable {
			t.Errorf("cached %+v, want unavailable", a)
		}
	})
}

// The stored returns of an order, every state, with the carrier's
// tracking link for carriers hubdesk knows and Loop's label otherwise.
func TestOrderReturnsList(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		s := newLoopShop(t, db, sandbox.Options{})
		token := s.app.Token(s.tn.Agent)
		for i, c := range []struct {
			state                    returns.ReturnState
			carrier, tracking, label string
			trackingURL              string
		}{
			{returns.StateOpen, "USPS", "9400136105440512280610", "in_transit", "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400136105440512280610"},
			{returns.StateReview, "", "", "", ""},
			{returns.StateClosed, "FedEx", "794644790138", "delivered", "https://www.fedex.com/fedextrack/?trknbr=794644790138"},
			{returns.StateCancelled, "", "", "", ""},
			{returns.StateExpired, "Happy Returns", "HR123", "pre_transit", "label"},
		} {
			o := s.app.SeedLoopOrder(s.tn, s.sb, testapp.LoopOrder{Name: fmt.Sprintf("#32%02d", i), DeliveredAgo: 5 * day,
				Return: c.state, Carrier: c.carrier, Tracking: c.tracking, Label: c.label})
			status, body := s.call(t, "GET", "/api/v1/orders/{id}/returns", o.ID)
			var list struct {
				Items []struct {
					State          string  `json:"state"`
					Carrier        string  `json:"carrier"`
					TrackingNumber *string `json:"tracking_number"`
					TrackingURL    *string `json:"tracking_url"`
					LabelURL       *string `json:"label_url"`
					LabelStatus    string  `json:"label_status"`
					SyncedAt       string  `json:"synced_at"`
				} `json:"items"`
			}
			if err := json.Unmarshal([]byte(body), &list); status != http.StatusOK || err != nil || len(list.Items) != 1 {
				t.Fatalf("%s: %d %s (%v)", c.state, status, body, err)
			}
			r := list.Items[0]
			if r.State != string(c.state) || r.Carrier != c.carrier || r.LabelStatus != c.label || r.SyncedAt == "" {
				t.Errorf("%s: %s", c.state, body)
			}
			switch {
			case c.tracking == "" && (r.TrackingNumber != nil || r.TrackingURL != nil || r.LabelURL != nil):
				t.Errorf("%s without a label shows tracking: %s", c.state, body)
			case c.trackingURL == "label" && (r.TrackingURL == nil || r.LabelURL == nil || *r.TrackingURL != *r.LabelURL):
				t.Errorf("%s with an unknown carrier does not link Loop's label: %s", c.state, body)
			case c.tracking != "" && c.trackingURL != "label" && (r.TrackingURL == nil || *r.TrackingURL != c.trackingURL):
				t.Errorf("%s: tracking link %v, want %s", c.state, r.TrackingURL, c.trackingURL)
			}
		}
		// Another shop's order is not found.
		other := s.app.NewTenant("shopb")
		o := s.app.Order(other, "9001", "x@example.com")
		if status, _, _ := s.app.Do(nil, "GET", fmt.Sprintf("/api/v1/orders/%d/returns", o.ID), token, ""); status != http.StatusNotFound {
			t.Errorf("another shop's order: %d", status)
		}
	})
}

// Initiate return through the API: Loop's deep link (one Loop call for
// two clicks), its QR code as SVG and, drawn as PNG by the desk's
// download, decoded back to the link; every generation audited; refused
// for an order that cannot start a return and when the button is hidden.
func TestReturnLinkWithQR(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		s := newLoopShop(t, db, sandbox.Options{})
		o := s.app.SeedLoopOrder(s.tn, s.sb, testapp.LoopOrder{Name: "#3301", DeliveredAgo: 3 * day})
		open := s.app.SeedLoopOrder(s.tn, s.sb, testapp.LoopOrder{Name: "#3302", DeliveredAgo: 3 * day, Return: returns.StateOpen})
		s.settle(t, map[string]*commerce.Order{"eligible": o})
		s.sb.ResetRequests()
		var link struct {
			URL            string  `json:"url"`
			QRSVG          string  `json:"qr_svg"`
			Provider       string  `json:"provider"`
			Via            string  `json:"via"`
			FallbackReason *string `json:"fallback_reason"`
		}
		for range 2 {
			status, body := s.call(t, "POST", "/api/v1/orders/{id}/return-link", o.ID)
			if err := json.Unmarshal([]byte(body), &link); status != http.StatusOK || err != nil {
				t.Fatalf("return link: %d %s", status, body)
			}
		}
		if !strings.HasPrefix(link.URL, s.sb.BaseURL()) || !strings.Contains(link.URL, "/link/") || link.Via != "loop_api" ||
			link.Provider != "loop" || link.FallbackReason != nil || !strings.HasPrefix(link.QRSVG, "<svg") {
			t.Fatalf("return link: %+v", link)
		}
		calls := 0
		for _, r := range s.sb.Requests() {
			if strings.HasSuffix(r.Path, "/order/link") {
				calls++
			}
		}
		if calls != 1 {
			t.Errorf("two clicks made %d deep-link calls to Loop, want 1", calls)
		}

		// The desk's PNG download draws exactly that link.
		agent := s.app.LoginAs(s.tn.Agent)
		resp, err := agent.Get(s.app.URL + fmt.Sprintf("/orders/%d/return-qr.png?url=%s", o.ID, url.QueryEscape(link.URL)))
		if err != nil {
			t.Fatal(err)
		}
		png, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("QR download: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		decoded, err := qrtest.DecodePNG(png)
		if err != nil || decoded != link.URL {
			t.Fatalf("the QR code reads %q (%v), want %q", decoded, err, link.URL)
		}
		// Any other URL is refused: the download is not a QR generator.
		resp, err = agent.Get(s.app.URL + fmt.Sprintf("/orders/%d/return-qr.png?url=%s", o.ID, url.QueryEscape("https://evil.example/")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("QR of a foreign URL: %d", resp.StatusCode)
		}

		entries, _, err := s.app.Server.Audit.List(context.Background(), s.tn.Shop.ID, audit.Filter{}, database.Page{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		generated := 0
		for _, e := range entries {
			if e.Action == audit.ActionReturnQR && e.Subject == "#3301" && e.Outcome == audit.OutcomeOK && e.Actor.ID == fmt.Sprint(s.tn.Agent.ID) {
				generated++
			}
		}
		if generated != 2 {
			t.Errorf("%d audited generations, want 2: %+v", generated, entries)
		}

		if status, body := s.call(t, "POST", "/api/v1/orders/{id}/return-link", open.ID); status != http.StatusConflict ||
			!strings.Contains(body, `"code":"not_eligible"`) {
			t.Errorf("order with an open return: %d %s", status, body)
		}
		s.app.UseLoop(s.tn, s.sb.BaseURL(), func(c *returns.Config) { c.Returns.HideInitiateReturn = true })
		if status, body := s.call(t, "POST", "/api/v1/orders/{id}/return-link", o.ID); status != http.StatusConflict ||
			!strings.Contains(body, `"code":"initiate_return_hidden"`) {
			t.Errorf("hidden: %d %s", status, body)
		}
	})
}

// Portal providers get the same link and QR code, built from the portal
// URL without asking anyone.
func TestReturnLinkForPortalProviders(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		ctx := context.Background()
		actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
		cfg := returns.DefaultConfig()
		cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderAfterShip, PortalURL: "https://returns.aftership.com/acme", PortalLookup: returns.LookupEmail}
		if _, err := app.Server.Settings.Save(ctx, tn.Shop.ID, cfg, actor); err != nil {
			t.Fatal(err)
		}
		if err := app.Server.Settings.SetLive(ctx, tn.Shop.ID, true, actor); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		delivered := now.Add(-2 * day)
		o := app.Ingest(tn.Shop.ID, commerce.Order{ExternalID: "5001", Name: "#5001", Email: "ada@example.com", Currency: "USD", CreatedAt: now.Add(-5 * day), UpdatedAt: now,
			Fulfillments: []commerce.Fulfillment{{ExternalID: "f", Status: "success", ShipmentStatus: "delivered", DeliveredAt: &delivered, CreatedAt: now, UpdatedAt: now}}}, nil)
		status, body, _ := app.Do(nil, "POST", fmt.Sprintf("/api/v1/orders/%d/return-link", o.ID), app.Token(tn.Agent), "")
		var link struct {
			URL   string `json:"url"`
			QRSVG string `json:"qr_svg"`
			Via   string `json:"via"`
		}
		if err := json.Unmarshal([]byte(body), &link); status != http.StatusOK || err != nil {
			t.Fatalf("%d %s", status, body)
		}
		if !strings.HasPrefix(link.URL, "https://returns.aftership.com/acme?") || !strings.Contains(link.URL, "%231001") && !strings.Contains(link.URL, "%235001") ||
			link.Via != "portal" || !strings.Contains(link.QRSVG, "<path") {
			t.Errorf("portal link: %+v", link)
		}
	})
}

// The returns list carries each return's items and Loop's processing
// failure with its message, and says how calls to Loop fare: while Loop
// turns calls away, refuses the key or is down, the returns stay as last
// known and sync says why; otherwise it is ok with the last success.
func TestOrderReturnsItemsFailureAndLoopHealth(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := newLoopShop(t, db, sandbox.Options{RateLimit: 1000})
		o := s.app.SeedLoopOrder(s.tn, s.sb, testapp.LoopOrder{Name: "#3301", DeliveredAgo: 5 * day, Items: 2, Return: returns.StateOpen})
		if _, err := s.app.Server.LoopSync.RefreshOrder(ctx, s.tn.Shop.ID, o.ID); err != nil {
			t.Fatal(err)
		}
		type answer struct {
			Items []struct {
				ID        string `json:"id"`
				LineItems []struct {
					Title    string  `json:"title"`
					Variant  *string `json:"variant"`
					Quantity int     `json:"quantity"`
					Reason   *string `json:"reason"`
				} `json:"line_items"`
				ProcessingFailed bool    `json:"processing_failed"`
				ProcessingError  *string `json:"processing_error"`
			} `json:"items"`
			Sync *struct {
				Status       string  `json:"status"`
				Problem      *string `json:"problem"`
				FailingSince *string `json:"failing_since"`
				LastOKAt     *string `json:"last_ok_at"`
			} `json:"sync"`
		}
		list := func() answer {
			t.Helper()
			status, body := s.call(t, "GET", "/api/v1/orders/{id}/returns", o.ID)
			var a answer
			if err := json.Unmarshal([]byte(body), &a); status != http.StatusOK || err != nil || len(a.Items) != 1 || a.Sync == nil {
				t.Fatalf("%d %s (%v)", status, body, err)
			}
			return a
		}
		a := list()
		r := a.Items[0]
		if len(r.LineItems) != 2 || r.LineItems[0].Title != "Classic Tee 1" || r.LineItems[0].Quantity != 1 || r.LineItems[0].Variant == nil ||
			*r.LineItems[0].Variant != "TEE-1" || r.LineItems[0].Reason == nil || r.ProcessingFailed || r.ProcessingError != nil {
			t.Errorf("items as Loop reported them: %+v", r)
		}
		if a.Sync.Status != "ok" || a.Sync.Problem != nil || a.Sync.LastOKAt == nil || a.Sync.FailingSince != nil {
			t.Errorf("sync while Loop answers: %+v", *a.Sync)
		}

		if err := s.app.Server.Returns.MarkProcessingFailed(ctx, s.tn.Shop.ID, returns.ProviderLoop, r.ID, "Refund failed: card expired"); err != nil {
			t.Fatal(err)
		}
		if r := list().Items[0]; !r.ProcessingFailed || r.ProcessingError == nil || *r.ProcessingError != "Refund failed: card expired" {
			t.Errorf("processing failure: %+v", r)
		}

		for _, c := range []struct {
			problem string
			fault   func()
		}{
			{"rate_limited", func() { s.sb.SetFaults(sandbox.Faults{RateLimited: true}) }},
			{"key_refused", func() { s.sb.SetFaults(sandbox.Faults{}); s.sb.RemoveKey(sandbox.KeyFull) }},
			// Last: it opens the key's circuit breaker.
			{"down", func() { s.sb.SetFaults(sandbox.Faults{Outage: true}) }},
		} {
			c.fault()
			if _, err := s.app.Server.LoopSync.RefreshOrder(ctx, s.tn.Shop.ID, o.ID); err == nil {
				t.Fatalf("%s: the refresh succeeded", c.problem)
			}
			a := list()
			if a.Sync.Status != "failing" || a.Sync.Problem == nil || *a.Sync.Problem != c.problem || a.Sync.FailingSince == nil || a.Sync.LastOKAt == nil {
				t.Errorf("%s: sync %+v", c.problem, *a.Sync)
			}
			if len(a.Items) != 1 || len(a.Items[0].LineItems) != 2 || !a.Items[0].ProcessingFailed {
				t.Errorf("%s: the last known return is gone: %+v", c.problem, a.Items)
			}
		}

		// A shop not on Loop says nothing about it.
		other := s.app.NewTenant("shopb")
		theirs := s.app.Order(other, "9101", "x@example.com")
		status, body, _ := s.app.Do(nil, "GET", fmt.Sprintf("/api/v1/orders/%d/returns", theirs.ID), s.app.Token(other.Agent), "")
		if status != http.StatusOK || !strings.Contains(body, `"sync":null`) {
			t.Errorf("a shop without Loop: %d %s", status, body)
		}
	})
}
