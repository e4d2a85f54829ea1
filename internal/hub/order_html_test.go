package hub

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// orderPageTemplate is the order page's body as a template (with
// parts.html's "contact"), the reference orderPage.HTML must match byte
// for byte.
const orderPageTemplate = `{{define "page"}}{{$L := .L}}{{with .Data}}
{{if .Back}}<p><a href="{{.Back}}">← {{$L.T "order.back"}}</a></p>{{end}}
<h1>{{$L.T "order.title" "name" .Name}} <span class="badge {{.Status}}">{{$L.T (print "status." .Status)}}</span>{{with .Payment}} <span class="badge {{.}}">{{$L.T (print "payment." .)}}</span>{{end}}</h1>
<p class="muted">{{$L.T "order.placed" "date" ($L.Date .CreatedAt)}}</p>

<section class="card" aria-labelledby="timeline-title">
<h2 id="timeline-title">{{$L.T "timeline.title"}}</h2>
<ol class="steps">
{{range .Timeline}}<li class="{{.Key}}{{if .Done}} done{{end}}{{if .Current}} current{{end}}"{{if .Current}} aria-current="step"{{end}}>{{$L.T (print "timeline." .Key)}}<span class="sr-only"> ({{if .Current}}{{$L.T "timeline.current"}}{{else if .Done}}{{$L.T "timeline.done"}}{{else}}{{$L.T "timeline.todo"}}{{end}})</span>{{with .At}}<time datetime="{{$L.ISODate .}}">{{$L.Date .}}</time>{{end}}</li>
{{end}}</ol>
</section>

{{with .Return}}{{if .Show}}
<section class="card" id="return" aria-labelledby="return-title">
<h2 id="return-title">{{$L.T "return.title"}}</h2>
{{range .Returns}}<div class="return-follow">
<p><strong>{{if .Open}}{{$L.T "return.in_progress"}}{{else}}{{$L.T "return.closed"}}{{end}}</strong> — {{$L.T "return.state" "state" ($L.T (print "return.state." .State))}}</p>
{{with .OutcomeKey}}<p>{{$L.T "return.outcome" "outcome" ($L.T .)}}</p>{{end}}
{{with .Items}}<p class="muted small">{{$L.T "return.items"}}</p><ul class="ship-items">{{range .}}<li>{{.Quantity}} × {{.Title}}{{with .Variant}} ({{.}}){{end}}</li>{{end}}</ul>{{end}}
{{if .Number}}<p>{{$L.T "return.tracking"}} {{with .Carrier}}{{.}} {{end}}{{if .TrackingURL}}<a href="{{.TrackingURL}}" target="_blank" rel="noopener noreferrer">{{.Number}}<span class="sr-only"> {{$L.T "hub.new_tab"}}</span></a>{{else}}{{.Number}}{{end}}</p>{{end}}
{{if and .Open .LabelURL}}<p><a href="{{.LabelURL}}" target="_blank" rel="noopener noreferrer">{{$L.T "return.label"}}<span class="sr-only"> {{$L.T "hub.new_tab"}}</span></a></p>{{end}}
{{if .StatusPage}}<p><a href="{{.StatusPage}}" target="_blank" rel="noopener noreferrer">{{$L.T "return.status_page"}}<span class="sr-only"> {{$L.T "hub.new_tab"}}</span></a></p>{{end}}
</div>{{end}}
{{if .Active}}{{if not .Returns}}
<p><strong>{{$L.T "return.in_progress"}}</strong> — {{$L.T "return.state" "state" ($L.T (print "return.state." .Active.State))}}</p>
{{if .StatusPage}}<p><a href="{{.StatusPage}}" target="_blank" rel="noopener noreferrer">{{$L.T "return.status_page"}}<span class="sr-only"> {{$L.T "hub.new_tab"}}</span></a></p>{{end}}
{{end}}{{else if .Returned}}
{{if not .Returns}}<p>{{$L.T "return.returned"}}</p>{{end}}
{{else if .CanStart}}
<form method="post" action="{{$.Data.ReturnAction}}" target="_top">
<p class="muted">{{$L.T "return.hint"}}{{with .Until}} {{$L.T "return.until" "date" ($L.Date .)}}{{end}}</p>
<button class="btn" type="submit">{{$L.T "return.start"}}</button>
</form>
{{else if .WindowEnded}}
<p>{{$L.T "return.window_closed" "date" ($L.DatePtr .WindowEnded)}}</p>
{{else if .NotYet}}
<p class="muted">{{$L.T "return.after_delivery"}}</p>
{{end}}
</section>
{{end}}{{end}}

<section class="card" aria-labelledby="items-title">
<h2 id="items-title">{{$L.T "items.title"}}</h2>
<ul class="items">
{{range .Items}}<li>
{{if .Image}}<img src="{{.Image}}" alt="" width="56" height="56" loading="lazy">{{else}}<span class="ph"></span>{{end}}
<span{{if or .Removed .AllRefunded}} class="removed"{{end}}><strong>{{.Title}}</strong>{{with .VariantTitle}}<br><span class="muted">{{.}}</span>{{end}}<br><span class="muted">{{$L.T "items.quantity" "n" .Quantity}}</span>{{if .Removed}}<br><span class="sr-only">{{$L.T "items.removed"}}</span>{{end}}{{if and .Refunded (not .AllRefunded)}}<br><span class="muted refunded">{{$L.T "items.refunded_n" "n" .Refunded}}</span>{{end}}</span>
<span class="num">{{if .Removed}}<span class="muted">{{$L.T "items.removed"}}</span>{{else if .AllRefunded}}<span class="muted">{{$L.T "items.refunded"}}</span>{{else}}{{$L.Money .LineTotal $.Data.Currency}}{{end}}</span>
</li>{{end}}
</ul>
<dl class="totals">
<dt>{{$L.T "totals.subtotal"}}</dt><dd>{{$L.Money .Subtotal .Currency}}</dd>
<dt>{{$L.T "totals.shipping"}}</dt><dd>{{$L.Money .Shipping .Currency}}</dd>
{{if .Tax}}<dt>{{$L.T "totals.tax"}}</dt><dd>{{$L.Money .Tax .Currency}}</dd>{{end}}
<dt class="grand">{{$L.T "totals.total"}}</dt><dd class="grand">{{$L.Money .Total .Currency}}</dd>
{{if .Refunded}}<dt>{{$L.T "totals.refunded"}}</dt><dd>−{{$L.Money .Refunded .Currency}}</dd>{{end}}
</dl>
{{if .ReorderURL}}<div class="actions reorder"><a class="btn secondary" href="{{.ReorderURL}}" target="_top">{{$L.T "reorder.button"}}</a><span class="muted">{{$L.T "reorder.hint"}}</span></div>{{end}}
{{with .NotReordered}}<div class="not-reordered"><p class="muted small">{{if $.Data.ReorderURL}}{{$L.T "reorder.left_out"}}{{else}}{{$L.T "reorder.none"}}{{end}}</p><ul class="ship-items">{{range .}}<li>{{.Title}}{{with .VariantTitle}} ({{.}}){{end}} — {{$L.T (print "reorder." .Reason)}}</li>{{end}}</ul></div>{{end}}
</section>

{{if .Refunds}}<section class="card" id="refunds" aria-labelledby="refunds-title">
<h2 id="refunds-title">{{$L.T "refunds.title"}}</h2>
{{range .Refunds}}<div class="refund">
<p>{{$L.T "refunds.refunded" "amount" ($L.Money .Amount $.Data.Currency) "date" ($L.Date .At)}}</p>
{{with .Items}}<ul class="ship-items">{{range .}}<li>{{.Quantity}} × {{.Title}}{{with .VariantTitle}} ({{.}}){{end}}</li>{{end}}</ul>{{end}}
</div>{{end}}
</section>{{end}}

<div class="cols">
<section class="card" aria-labelledby="tracking-title">
<h2 id="tracking-title">{{$L.T "shipments.title"}}</h2>
{{range $i, $s := .Shipments}}<div class="ship">
<h3 class="sr-only">{{$L.T "shipments.shipment" "n" (inc $i)}}</h3>
<strong>{{$L.T $s.StatusKey}}</strong>
<dl>
{{with $s.Carrier}}<dt>{{$L.T "shipments.carrier"}}</dt><dd>{{.}}</dd>{{end}}
{{with $s.Number}}<dt>{{$L.T "shipments.number"}}</dt><dd>{{if $s.URL}}<a href="{{$s.URL}}" target="_blank" rel="noopener noreferrer">{{.}}<span class="sr-only"> {{$L.T "hub.new_tab"}}</span></a>{{else}}{{.}}{{end}}</dd>{{end}}
</dl>
{{with $s.Items}}<p class="muted small">{{$L.T "shipments.items"}}</p><ul class="ship-items">{{range .}}<li>{{.Quantity}} × {{.Title}}{{with .VariantTitle}} ({{.}}){{end}}</li>{{end}}</ul>{{end}}
{{with $s.DeliveredAt}}<p class="muted">{{$L.T "shipments.delivered_on" "date" ($L.Date .)}}</p>{{end}}
{{with $s.ETA}}<p class="muted">{{$L.T "shipments.eta" "date" ($L.Date .)}}</p>{{end}}
{{if and $s.URL (not $s.Number)}}<p><a href="{{$s.URL}}" target="_blank" rel="noopener noreferrer">{{$L.T "shipments.track"}}<span class="sr-only"> {{$L.T "hub.new_tab"}}</span></a></p>{{end}}
</div>{{else}}<p class="muted">{{$L.T "shipments.none"}}</p>{{end}}
{{with .Unshipped}}<div class="ship unshipped"><strong>{{$L.T "shipments.not_shipped"}}</strong>
<ul class="ship-items">{{range .}}<li>{{.Quantity}} × {{.Title}}{{with .VariantTitle}} ({{.}}){{end}}</li>{{end}}</ul></div>{{end}}
</section>
{{if .Address}}<section class="card" aria-labelledby="address-title">
<h2 id="address-title">{{$L.T "address.title"}}</h2>
<address>{{range .Address}}{{.}}<br>{{end}}</address>
</section>{{end}}
</div>
{{end}}
{{template "contact" .}}
{{end}}
`

// hostileText has every character html/template escapes in text and
// attributes, a Liquid tag, an invalid UTF-8 byte and a non-character.
const hostileText = "<script>alert(\"x\")</script> & 'quotes' \"double\" +1 \x00 \xff \ufdd0 {{ shop.name }} ×"

// hostileURLs are the URLs a page may be handed, safe or not.
var hostileURLs = []string{"", "javascript:alert(1)", "JavaScript:alert(1)", `https://track.example.com/t?n=1&x="><script>alert(1)</script>`,
	"https://例え.jp/パス?q=a b'c+d", "/apps/hub/orders/7?locale=de&view=drawer", "mailto:x@example.com", "data:text/html,<b>",
	"http://x.example.com/%41%zz{}|\\^`%41", "https://x.example.com/%4", "https://x.example.com/\x00\x7f"}

// hostilePages are order pages covering every branch of the template,
// their values hostile.
func hostilePages() []orderPage {
	at := time.Date(2026, 11, 30, 15, 4, 0, 0, time.UTC)
	later := at.Add(50 * time.Hour)
	url := func(i int) string { return hostileURLs[i%len(hostileURLs)] }
	items := []shipItem{{Title: hostileText, VariantTitle: hostileText, Quantity: 2}, {Title: "Mug", Quantity: 1}}
	var pages []orderPage
	for i := range 24 {
		p := orderPage{
			Name: hostileText, CreatedAt: at, Status: []commerce.Status{commerce.StatusDelivered, commerce.Status(hostileText), commerce.StatusCancelled}[i%3],
			Currency: []string{"EUR", "USD", hostileText, "JPY"}[i%4], Subtotal: 123_456, Shipping: int64(i) * 99, Tax: int64(i%2) * 784,
			Total: 987_654, Back: url(i + 5), ReturnAction: url(i + 3),
		}
		if i%3 == 1 {
			p.Payment = []string{commerce.FinancialRefunded, hostileText}[i%2]
			p.Refunded = 1_800
		}
		for k := range 4 {
			st := step{Key: []string{"placed", "shipped", hostileText, "delivered"}[k], Done: k <= i%4, Current: k == i%4}
			if (k+i)%3 != 0 {
				st.At = &later
			}
			p.Timeline = append(p.Timeline, st)
		}
		for k := range i%4 + 1 {
			it := item{Title: hostileText, Image: url(i + k), Quantity: k + 1, Price: 1_800, LineTotal: int64(k+1) * 1_800}
			if k%2 == 0 {
				it.VariantTitle = hostileText
			}
			switch (i + k) % 4 {
			case 1:
				it.Removed = true
			case 2:
				it.AllRefunded, it.Refunded = true, it.Quantity
			case 3:
				it.Refunded = 1
			}
			p.Items = append(p.Items, it)
		}
		if i%2 == 0 {
			p.ReorderURL = url(i + 1)
		}
		if i%3 != 2 {
			p.NotReordered = []notReordered{{Title: hostileText, VariantTitle: hostileText, Reason: "sold_out"}, {Title: "Scarf", Reason: hostileText}}
		}
		if i%4 != 0 {
			p.Refunds = []refundView{{At: at, Amount: 1_800, Items: items}, {At: later, Amount: 0}}
		}
		for k := range i % 3 {
			sh := shipment{Carrier: hostileText, Number: hostileText, URL: url(i + k), StatusKey: []string{"shipment.delivered", hostileText}[k%2]}
			switch (i + k) % 4 {
			case 0:
				sh.Carrier = ""
			case 1:
				sh.Number = ""
			case 2:
				sh.Items, sh.DeliveredAt = items, &later
			case 3:
				sh.ETA, sh.Number, sh.URL = &later, "", ""
			}
			p.Shipments = append(p.Shipments, sh)
		}
		if i%5 < 2 {
			p.Unshipped = items
		}
		if i%6 != 5 {
			p.Address = []string{hostileText, "Torstraße 1", "10119 Berlin"}
		}
		p.Return = hostileReturnBox(i, at, url)
		p.Contact = contactForm{Show: i%7 != 6, Action: url(i + 7), Sent: i%2 == 1, Guest: i%5 == 2}
		if p.Contact.Guest {
			p.Back = "" // a guest's order page
		}
		switch i % 4 {
		case 1:
			p.Contact.Message, p.Contact.Error = hostileText, hostileText
		case 2:
			p.Contact.Disabled, p.Contact.Notice = true, hostileText
		}
		pages = append(pages, p)
	}
	return pages
}

// hostileReturnBox is the i-th Returns section: each of the states the
// template tells apart, with and without returns to follow.
func hostileReturnBox(i int, at time.Time, url func(int) string) returnBox {
	var follow []returnView
	if i%2 == 0 {
		for k := range 4 {
			v := returnView{State: []returns.ReturnState{returns.StateOpen, returns.StateReview, returns.StateClosed, returns.ReturnState(hostileText)}[k],
				Open: k < 2, StatusPage: url(i + k), LabelURL: url(i + k + 1)}
			if k%2 == 1 {
				v.OutcomeKey = []string{"return.outcome.refund", hostileText}[i/2%2]
				v.Items = []returns.ReturnedItem{{Title: hostileText, Variant: hostileText, Quantity: 2}, {Title: "Mug", Quantity: 1}}
			}
			if k != 2 {
				v.Carrier, v.Number, v.TrackingURL = []string{hostileText, ""}[k%2], hostileText, url(i+k+2)
			}
			follow = append(follow, v)
		}
	}
	active := &returns.Return{State: returns.ReturnState(hostileText)}
	switch i / 2 % 7 {
	case 0:
		return returnBox{}
	case 1:
		return returnBox{Show: true, Active: active, StatusPage: url(i), Returns: follow}
	case 2:
		return returnBox{Show: true, Returned: true, Returns: follow}
	case 3:
		return returnBox{Show: true, CanStart: true, Until: &at, Returns: follow}
	case 4:
		return returnBox{Show: true, CanStart: true, Returns: follow}
	case 5:
		return returnBox{Show: true, WindowEnded: &at, Returns: follow}
	}
	return returnBox{Show: true, NotYet: i%4 == 0, Returns: follow}
}

// TestOrderPageMatchesTheTemplate holds the Go-written order page to its
// reference template, in every language the hub speaks.
func TestOrderPageMatchesTheTemplate(t *testing.T) {
	parts, err := templateFiles.ReadFile("templates/parts.html")
	if err != nil {
		t.Fatal(err)
	}
	ref := template.Must(template.New("ref").Funcs(template.FuncMap{"inc": func(i int) int { return i + 1 }}).Parse(orderPageTemplate + string(parts)))
	pages := hostilePages()
	for _, lang := range []string{"en", "de", "fr", "es", "nl"} {
		l := locale.Hub.For(lang)
		if l.Lang != lang {
			t.Fatalf("no %s catalogue", lang)
		}
		for i, p := range pages {
			var want strings.Builder
			if err := ref.ExecuteTemplate(&want, "page", view{L: l, Data: p}); err != nil {
				t.Fatal(err)
			}
			if got := string(p.HTML(l)); got != want.String() {
				at := 0
				for at < len(got) && at < len(want.String()) && got[at] == want.String()[at] {
					at++
				}
				t.Fatalf("%s page %d differs from the template at byte %d:\n got: …%s\nwant: …%s", lang, i, at,
					got[max(0, at-200):min(len(got), at+200)], want.String()[max(0, at-200):min(want.Len(), at+200)])
			}
		}
	}
}
