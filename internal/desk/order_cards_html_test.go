package desk

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/web"
)

// orderCardsTemplate is the ticket view's order cards as a template (with
// parts.html's "order-returns"), the reference orderCardsHTML must match.
const orderCardsTemplate = `{{define "order-cards"}}{{with .Data}}
    {{range .Orders}}
    <section class="card order-card" aria-label="Order {{.Name}}">
      <div><a href="/orders/{{.ID}}"><strong>{{.Name}}</strong></a> {{template "badge" (badge "order" .Status)}}</div>
      <div class="muted small">{{date .CreatedAt}} · {{money .TotalMinor .Currency}}</div>
      <ul class="items">{{range .LineItems}}<li>{{.CurrentQuantity}} × {{.Title}}{{with .VariantTitle}} <span class="muted">· {{.}}</span>{{end}}</li>{{end}}</ul>
      {{range .Fulfillments}}<div class="small">{{or .Carrier "Shipment"}}: {{if .TrackingURL}}<a href="{{.TrackingURL}}" target="_blank" rel="noopener noreferrer">{{or .TrackingNumber "track"}}</a>{{else}}{{or .TrackingNumber "—"}}{{end}} · {{if .ShipmentStatus}}{{label "shipment" .ShipmentStatus}}{{else}}{{label "fulfillment" .Status}}{{end}}</div>{{end}}
      {{template "order-refunds" .Order}}
      {{template "order-returns" ($.Data.Card .)}}
    </section>
    {{end}}
{{end}}{{end}}`

// hostileOrders are orders whose every value is hostile, with shipments
// and returns in each state the cards tell apart.
func hostileOrders(now time.Time) []orderview.Order {
	links := []string{"", "javascript:alert(1)", "JavaScript:alert(1)", `https://track.example.com/t?n=1&x="><script>alert(1)</script>`,
		"https://例え.jp/パス?q=a b'c", "/relative path", "mailto:x@example.com", "data:text/html,<b>", "http://x.example.com/%41%zz{}|\\^`%41", "https://x.example.com/%4", "https://x.example.com/\x00\x7f"}
	var fulfillments []commerce.Fulfillment
	for i, link := range links {
		f := commerce.Fulfillment{TrackingURL: link, Status: []string{"success", hostile, ""}[i%3]}
		if i%2 == 0 {
			f.Carrier, f.TrackingNumber = hostile, hostile
		}
		if i%3 == 1 {
			f.ShipmentStatus = []string{"delivered", hostile, "in_transit"}[i%3]
		}
		fulfillments = append(fulfillments, f)
	}
	var rets []returns.Return
	for i, link := range links {
		r := returns.Return{ID: int64(i + 1), Provider: []returns.Provider{returns.ProviderLoop, returns.Provider(hostile)}[i%2], ExternalID: hostile,
			State: []returns.ReturnState{returns.StateOpen, returns.StateClosed, returns.ReturnState(hostile)}[i%3], LabelURL: link, StatusPageURL: links[(i+3)%len(links)]}
		switch i % 3 {
		case 0:
			r.Carrier, r.TrackingNumber, r.Outcome, r.LabelStatus = hostile, hostile, hostile, hostile
			r.ProcessingFailed, r.ProcessingError = true, hostile
			r.SyncedAt = now.Add(-3 * time.Hour)
		case 1:
			r.Carrier, r.TrackingNumber, r.Outcome, r.LabelStatus = "UPS", "1Z999AA10123456784", "refund", "new"
			r.ProcessingFailed = true
			r.SyncedAt = now.Add(-72 * time.Hour)
			r.LineItems = []returns.ReturnedItem{{Title: hostile, Variant: hostile, Quantity: 2, Reason: hostile}, {Title: "Plain", Quantity: 1}}
		case 2:
			r.TrackingNumber = "N/A"
			r.LineItems = []returns.ReturnedItem{{Title: hostile, Quantity: 1, Reason: "Too small"}}
		}
		rets = append(rets, r)
	}
	at := time.Date(2026, 11, 30, 15, 4, 0, 0, time.UTC)
	items := []commerce.LineItem{{ExternalID: "11", Title: hostile, VariantTitle: hostile, CurrentQuantity: 3}, {ExternalID: "12", Title: "Mug", CurrentQuantity: 0}}
	refunds := []commerce.Refund{
		{ExternalID: hostile, CreatedAt: at, AmountMinor: 2_400, Lines: []commerce.RefundLine{{LineItemID: "12", Quantity: 1, SubtotalMinor: 2_400}}},
		{ExternalID: "2", CreatedAt: at.Add(time.Hour), AmountMinor: 0, Lines: []commerce.RefundLine{{LineItemID: "11", Quantity: 2}, {LineItemID: hostile, Quantity: 1}, {LineItemID: "12", Quantity: 0}}},
		{ExternalID: "3", CreatedAt: at.Add(2 * time.Hour), AmountMinor: 995},
	}
	return []orderview.Order{
		{Order: &commerce.Order{ID: 7, Name: hostile, Currency: "EUR", TotalMinor: 123_456, CreatedAt: at, LineItems: items, Fulfillments: fulfillments,
			Refunds: refunds, RefundedMinor: 3_395},
			Status: commerce.Status(hostile), Returns: rets},
		{Order: &commerce.Order{ID: 8, Name: "#1002", Currency: "USD", TotalMinor: 0, CreatedAt: at}, Status: "fulfilled",
			Return: returns.Eligibility{Reason: returns.ReturnOpen}, Returns: rets[:1]},
		{Order: &commerce.Order{ID: 9, Name: "#1003", Currency: hostile, CreatedAt: at, Refunds: refunds[2:], RefundedMinor: 995}, Status: "paid",
			Return: returns.Eligibility{Reason: returns.NotEligible(hostile)}},
		{Order: &commerce.Order{ID: 10, Name: "#1004", Currency: "USD", CreatedAt: at}, Status: "delivered"},
	}
}

func TestOrderCardsMatchTheTemplates(t *testing.T) {
	tmpl := template.Must(template.New("parts.html").Funcs(templateFuncs(web.DefaultAssets, staffLocale)).ParseFS(templateFiles, "templates/parts.html"))
	template.Must(tmpl.Parse(orderCardsTemplate))
	now := time.Now()
	orders := hostileOrders(now)
	healths := []returns.SyncHealth{{}, {Problem: returns.ProblemDown, FailingSince: now.Add(-2 * time.Hour)},
		{Problem: returns.SyncProblem(hostile), FailingSince: now.Add(-90 * time.Minute), LastOK: now.Add(-50 * time.Hour)}}
	configs := []returns.Config{{}, {Returns: returns.ReturnsConfig{HideInitiateReturn: true}}}
	for i, h := range healths {
		for j, cfg := range configs {
			for _, list := range [][]orderview.Order{orders, orders[1:], nil} {
				p := ticketPage{Ticket: &ticket.Ticket{ID: int64(40 + i)}, Orders: list, ReturnsHealth: h, published: cfg}
				var want strings.Builder
				if err := tmpl.ExecuteTemplate(&want, "order-cards", map[string]any{"Data": p}); err != nil {
					t.Fatal(err)
				}
				got := string(orderCardsHTML(staffLocale, &p, now))
				if normalize(got) != normalize(want.String()) {
					t.Errorf("health %d, config %d, %d orders: the cards differ from the template:\n got: %s\nwant: %s", i, j, len(list), normalize(got), normalize(want.String()))
				}
				if strings.Contains(got, "<script>") || strings.Contains(strings.ToLower(got), `href="javascript:`) {
					t.Errorf("a value was written unescaped: %s", got)
				}
			}
		}
	}
	// The order page's returns section (no ticket: no Insert into reply).
	for _, o := range orders {
		for _, initiate := range []bool{false, true} {
			for _, tk := range []int64{0, 5} {
				card := orderCard{Order: o, Initiate: initiate, Ticket: tk, Health: healths[2]}
				var want strings.Builder
				if err := tmpl.ExecuteTemplate(&want, "order-returns", card); err != nil {
					t.Fatal(err)
				}
				var got htmlWriter
				orderReturnsHTML(&got, staffLocale, card, now)
				if normalize(got.String()) != normalize(want.String()) {
					t.Errorf("order %d, initiate %v, ticket %d: the returns section differs:\n got: %s\nwant: %s", o.ID, initiate, tk, normalize(got.String()), normalize(want.String()))
				}
			}
		}
	}
}
