package desk

import (
	"html/template"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/user"
	"github.com/hubdesk/hubdesk/internal/web"
)

// BenchmarkRenderPages compares writing the ticket view and the inbox
// (layout included) with the reference templates and with the Go writers
// the pages use, without a database: CPU time and allocations of the
// rendering alone.
//
//	go test ./internal/desk -run '^$' -bench RenderPages -benchmem
func BenchmarkRenderPages(b *testing.B) {
	tmpl := template.Must(template.New("layout.html").Funcs(templateFuncs(web.DefaultAssets, staffLocale)).
		ParseFS(templateFiles, "templates/layout.html", "templates/parts.html", "templates/helpdesk_notice.html"))
	template.Must(tmpl.Parse(orderCardsTemplate))
	inboxTmpl := template.Must(tmpl.Clone())
	template.Must(inboxTmpl.Parse(strings.Replace(inboxPageTemplate, `{{define "inbox-page"}}`, `{{define "page"}}`, 1)))
	// The ticket view as it was: its page and order cards templates, the
	// conversation and the ticket and customer cards already in Go.
	ticketTmpl := template.Must(tmpl.Clone())
	page := strings.Replace(ticketPageTemplate, `{{define "ticket-page"}}`, `{{define "page"}}`, 1)
	page = strings.Replace(page, "{{.OrderCards}}", `{{template "order-cards" $}}`, 1)
	template.Must(ticketTmpl.Parse(page))

	now := time.Now()
	tp := hostileTicketPages()[0]
	tp.Orders = hostileOrders(now)[1:]
	me := &user.User{ID: 1, Email: "agent@example.com", Name: "Ada", Role: user.RoleAgent}
	nav := []navItem{{Path: "/customers", LabelKey: "nav.customers"}, {Path: "/tickets", LabelKey: "nav.tickets", Current: true}, {Path: "/orders", LabelKey: "nav.orders"}}
	ticketView := view{Title: tp.Ticket.Subject, User: me, Shop: &shop.Shop{Name: "Shop"}, Nav: nav, Notifications: 3, Data: tp}

	var rows []inboxRow
	for i := range 50 {
		rows = append(rows, inboxRow{ID: int64(1000 + i), Subject: "Where is my order #1001?", RequesterName: "Grace Hopper", RequesterEmail: "grace@example.com",
			Preview: "Hello, I ordered last week and the tracking has not moved since…", Assignee: "Ada", Tags: []string{"vip"}, Unread: i%3 == 0,
			Status: badge{Class: "badge--ticket-open", Label: "Open"}, Waiting: "waiting 3 h"})
	}
	links := []inboxLink{{Label: "Mine", URL: "/tickets?view=mine", Count: 12}, {Label: "Unassigned", URL: "/tickets?view=unassigned", Count: 40}, {Label: "All", URL: "/tickets", Count: 4000, Current: true}}
	ip := inboxPage{Rows: rows, Words: newInboxWords(staffLocale), Back: "/tickets", Views: links, Statuses: links, Tags: links, Sorts: links[:2],
		Pager: pagerLink{URL: "/tickets?cursor=abc", LabelKey: "pager.next"}}
	inboxView := view{Title: "Tickets", User: me, Shop: &shop.Shop{Name: "Shop"}, Nav: nav, Notifications: 3, Data: ip}
	// The inbox as it was: its rows already in Go, the rest a template.
	inboxRef := func() view {
		return view{Title: "Tickets", User: me, Shop: &shop.Shop{Name: "Shop"}, Nav: nav, Notifications: 3, Data: struct {
			inboxPage
			RowsHTML template.HTML
		}{ip, inboxRowsHTML(ip.Rows, ip.Words, ip.Back)}}
	}

	for _, c := range []struct {
		name string
		tmpl *template.Template
		v    view
		ref  func() view // the data as the template rendered it
	}{{"ticket", ticketTmpl, ticketView, func() view { return ticketView }}, {"inbox", inboxTmpl, inboxView, inboxRef}} {
		b.Run(c.name+"/template", func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if err := c.tmpl.ExecuteTemplate(io.Discard, "layout", c.ref()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/go", func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				var body template.HTML
				switch d := c.v.Data.(type) {
				case ticketPage:
					body = ticketPageHTML(staffLocale, web.DefaultAssets, &d, now)
				case inboxPage:
					body = inboxPageHTML(staffLocale, web.DefaultAssets, &d)
				}
				io.WriteString(io.Discard, layoutHead(staffLocale, web.DefaultAssets, &c.v)+string(body)+layoutTail(staffLocale, web.DefaultAssets, true))
			}
		})
	}
}

// reportCPU reports the process's CPU time per operation (cpu-µs/op) when
// the function it returns is called: on a machine shared with other work
// it stays meaningful where wall time does not.
func reportCPU(b *testing.B) func() {
	cpu := func() int64 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0
		}
		return ru.Utime.Nano() + ru.Stime.Nano()
	}
	start := cpu()
	return func() { b.ReportMetric(float64(cpu()-start)/1e3/float64(b.N), "cpu-µs/op") }
}
