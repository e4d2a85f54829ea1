package sandbox

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"time"
)

// The portal is what a shopper sees after following a deep link: a stand-in
// for Loop's hosted returns portal, so a click-through in the demo lands on
// a page about the right order. Deep links have the shape
// <base>/portal/link/<uuid>: Loop's real links put the uuid after a "#"
// (https://shop.loopreturns.com/#/link/<uuid>), which browsers never send to
// the server, so the sandbox uses a path. /portal/ still understands the
// fragment form with a few lines of inline script, and the portal's
// fallback form /portal/?order=<name>&zip=<lookup>.

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} · {{.Shop}} returns (Loop sandbox)</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#1d1d1f}
header{background:#1d1d1f;color:#fff;padding:12px 24px;font-weight:600}
header small{font-weight:400;opacity:.7;margin-left:8px}
main{max-width:640px;margin:24px auto;padding:0 16px}
.card{background:#fff;border-radius:10px;padding:20px;margin-bottom:16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:6px 4px;border-bottom:1px solid #eee}
.ok{color:#0a7d32}.no{color:#a33}.muted{color:#666;font-size:14px}
.badge{display:inline-block;padding:2px 8px;border-radius:99px;background:#eef;font-size:13px}
button{background:#1d1d1f;color:#fff;border:0;border-radius:6px;padding:10px 16px;font-size:15px}
</style></head><body>
<header>{{.Shop}} returns<small>Loop sandbox — not a real portal</small></header>
<main>{{.Body}}</main></body></html>`))

var linkTmpl = template.Must(template.New("link").Parse(`<div class="card">
<h1>Order {{.Order.Name}}</h1>
<p class="muted">{{.Order.FirstName}} {{.Order.LastName}} · {{.Order.Email}}{{if .Delivered}} · delivered {{.Delivered}}{{else}} · not delivered yet{{end}}</p>
{{if .Gift}}<p><span class="badge">Gift return</span></p>{{end}}
<table><tr><th>Item</th><th>Price</th><th>Returnable</th></tr>
{{range .Items}}<tr><td>{{.Title}} <span class="muted">{{.SKU}}</span></td><td>{{.Price}}</td>
<td>{{if .Eligible}}<span class="ok">yes</span>{{else}}<span class="no">no</span> <span class="muted">{{.Why}}</span>{{end}}</td></tr>{{end}}
</table>
{{if .AnyEligible}}<p><button type="button" disabled>Start return</button></p>
<p class="muted">In Loop the shopper would now pick items, reasons and an outcome. The sandbox stops here; create returns through /_sandbox/returns.</p>
{{else}}<p class="muted">Nothing on this order can be returned right now.</p>{{end}}
</div>
{{if .Returns}}<div class="card"><h2>Returns on this order</h2><table><tr><th>Return</th><th>State</th><th>Carrier</th><th>Tracking</th><th>Label</th></tr>
{{range .Returns}}<tr><td><a href="{{.Link}}">#{{.ID}}</a></td><td>{{.State}}</td><td>{{.Carrier}}</td><td>{{.Tracking}}</td><td>{{.Label}}</td></tr>{{end}}
</table></div>{{end}}`))

var returnTmpl = template.Must(template.New("return").Parse(`<div class="card">
<h1>Return #{{.ID}}</h1>
<p>Order {{.Order}} · <span class="badge">{{.State}}</span></p>
<table><tr><th>Carrier</th><td>{{.Carrier}}</td></tr><tr><th>Tracking number</th><td>{{.Tracking}}</td></tr>
<tr><th>Label status</th><td>{{.Label}}</td></tr><tr><th>Created</th><td>{{.Created}}</td></tr><tr><th>Updated</th><td>{{.Updated}}</td></tr></table>
</div>`))

var portalTmpl = template.Must(template.New("portal").Parse(`<div class="card">
<h1>Start a return</h1>
{{if .Error}}<p class="no">{{.Error}}</p>{{end}}
<form method="get" action="/portal/">
<p><label>Order number<br><input name="order" value="{{.OrderName}}" required></label></p>
<p><label>Postal code or email<br><input name="zip" value="{{.Zip}}" required></label></p>
<p><button>Find my order</button></p></form>
</div>
<script>
// Loop's deep links carry the link id in the fragment (#/link/<uuid>),
// which never reaches the server: forward it as a path.
(function(){var m=location.hash.match(/^#\/link\/([0-9a-f-]+)$/i);if(m){location.replace("/portal/link/"+m[1]);}})();
</script>`))

func (s *Sandbox) renderPage(w http.ResponseWriter, status int, title string, body *template.Template, data any) {
	var inner bytes.Buffer
	if err := body.Execute(&inner, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var page bytes.Buffer
	if err := pageTmpl.Execute(&page, map[string]any{
		"Title": title, "Shop": s.opts.ShopName, "Body": template.HTML(inner.String()),
	}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self'; form-action 'self'")
	w.WriteHeader(status)
	w.Write(page.Bytes())
}

type portalItem struct {
	Title, SKU, Price, Why string
	Eligible               bool
}

type portalReturn struct {
	ID                                    int64
	Link, State, Carrier, Tracking, Label string
}

// orderPageLocked gathers what the order page shows.
func (s *Sandbox) orderPageLocked(o *order, gift bool) map[string]any {
	elig := s.eligibilityLocked(o)
	var items []portalItem
	anyEligible := false
	for i, it := range o.Items {
		e := elig[i]
		anyEligible = anyEligible || e.Eligible
		items = append(items, portalItem{Title: it.Title, SKU: it.SKU, Price: it.Price + " " + o.Currency, Eligible: e.Eligible, Why: strings.ReplaceAll(strings.Join(e.Reasons, ", "), "_", " ")})
	}
	var rets []portalReturn
	for _, r := range s.returns {
		if r.order == o {
			rets = append(rets, portalReturn{ID: r.id, Link: "/portal/return/" + r.uuid, State: string(r.state), Carrier: na(r.carrier), Tracking: na(r.tracking), Label: na(r.label)})
		}
	}
	delivered := ""
	if !o.DeliveredAt.IsZero() {
		delivered = o.DeliveredAt.Format("2 Jan 2006")
	}
	return map[string]any{"Order": o.Order, "Delivered": delivered, "Gift": gift, "Items": items, "AnyEligible": anyEligible, "Returns": rets}
}

func (s *Sandbox) handlePortalLink(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	link := s.links[r.PathValue("uuid")]
	var data map[string]any
	if link != nil {
		data = s.orderPageLocked(link.order, link.gift)
	}
	s.mu.Unlock()
	if link == nil {
		s.renderPage(w, http.StatusNotFound, "Link not found", portalTmpl, map[string]any{"Error": "This return link is not valid. Look your order up instead."})
		return
	}
	s.renderPage(w, http.StatusOK, "Order "+link.order.Name, linkTmpl, data)
}

func (s *Sandbox) handlePortal(w http.ResponseWriter, r *http.Request) {
	name, zip := r.URL.Query().Get("order"), r.URL.Query().Get("zip")
	if zip == "" {
		zip = firstNonEmpty(r.URL.Query().Get("email"), r.URL.Query().Get("phone"))
	}
	data := map[string]any{"OrderName": name, "Zip": zip}
	if name == "" {
		s.renderPage(w, http.StatusOK, "Start a return", portalTmpl, data)
		return
	}
	s.mu.Lock()
	o := s.orderByNameLocked(name)
	var page map[string]any
	if o != nil && o.matchesLookup(zip) {
		page = s.orderPageLocked(o, false)
	}
	s.mu.Unlock()
	if page == nil {
		data["Error"] = "We could not find that order."
		s.renderPage(w, http.StatusOK, "Start a return", portalTmpl, data)
		return
	}
	s.renderPage(w, http.StatusOK, "Order "+o.Name, linkTmpl, page)
}

func (s *Sandbox) handlePortalReturn(w http.ResponseWriter, r *http.Request) {
	uuid := r.PathValue("uuid")
	s.mu.Lock()
	var data map[string]any
	for _, rt := range s.returns {
		if rt.uuid == uuid {
			data = map[string]any{
				"ID": rt.id, "Order": rt.order.Name, "State": rt.state, "Carrier": na(rt.carrier),
				"Tracking": na(rt.tracking), "Label": na(rt.label),
				"Created": rt.createdAt.UTC().Format(time.RFC1123), "Updated": rt.updatedAt.UTC().Format(time.RFC1123),
			}
		}
	}
	s.mu.Unlock()
	if data == nil {
		http.NotFound(w, r)
		return
	}
	s.renderPage(w, http.StatusOK, fmt.Sprintf("Return #%d", data["ID"]), returnTmpl, data)
}

// handleQRImage serves the image a QR answer links to. It is a placeholder
// pattern derived from the deep link, not a scannable code: hubdesk renders
// its own QR codes from the deep link, and Loop's image is only fetched to
// be shown (README.md).
func (s *Sandbox) handleQRImage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	img := s.qrs[r.PathValue("id")]
	s.mu.Unlock()
	if img == nil {
		http.NotFound(w, r)
		return
	}
	cells := qrPattern(img.link)
	switch img.kind {
	case "svg":
		var b strings.Builder
		cell := float64(img.size) / 25
		fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d"><rect width="100%%" height="100%%" fill="#fff"/>`, img.size, img.size, img.size, img.size)
		for y := range 25 {
			for x := range 25 {
				if cells[y][x] {
					fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f"/>`, float64(x)*cell, float64(y)*cell, cell, cell)
				}
			}
		}
		b.WriteString("</svg>\n")
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write([]byte(b.String()))
	case "eps":
		w.Header().Set("Content-Type", "application/postscript")
		fmt.Fprintf(w, "%%!PS-Adobe-3.0 EPSF-3.0\n%%%%BoundingBox: 0 0 %d %d\n%% Loop sandbox placeholder for %s\nshowpage\n", img.size, img.size, img.link)
	default:
		m := image.NewGray(image.Rect(0, 0, img.size, img.size))
		for y := 0; y < img.size; y++ {
			for x := 0; x < img.size; x++ {
				c := color.Gray{Y: 255}
				if cells[y*25/img.size][x*25/img.size] {
					c = color.Gray{Y: 0}
				}
				m.SetGray(x, y, c)
			}
		}
		w.Header().Set("Content-Type", "image/png")
		png.Encode(w, m)
	}
}

// qrPattern draws a 25×25 grid with QR-like finder squares and cells taken
// from a hash of the link, so different links look different.
func qrPattern(link string) [25][25]bool {
	var g [25][25]bool
	seed := sha256.Sum256([]byte(link))
	for y := range 25 {
		for x := range 25 {
			bit := (y*25 + x) % 256
			g[y][x] = seed[bit/8]>>(bit%8)&1 == 1
		}
	}
	finder := func(ox, oy int) {
		for y := range 7 {
			for x := range 7 {
				edge := x == 0 || y == 0 || x == 6 || y == 6
				core := x >= 2 && x <= 4 && y >= 2 && y <= 4
				g[oy+y][ox+x] = edge || core
			}
		}
	}
	finder(0, 0)
	finder(18, 0)
	finder(0, 18)
	return g
}

func (s *Sandbox) handleIndex(w http.ResponseWriter, r *http.Request) {
	base := s.base(r)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, `Loop Returns sandbox (hubdesk)

API base URL:    %s/api/v1
Keys:            %s (Orders, Returns, Developer Tools)
                 %s (Orders only)
                 %s (Returns only)
Header:          X-Authorization: <key>
Webhook secret:  %s
Shop id:         %d
Portal:          %s/portal/
Admin:           GET  %s/_sandbox/state
                 POST %s/_sandbox/orders          {"name":"#2001","email":"...","zip":"...","delivered_at":"2024-05-01T10:00:00Z"}
                 POST %s/_sandbox/returns         {"order_name":"#1001","state":"open"}
                 POST %s/_sandbox/returns/{id}/advance
                 POST %s/_sandbox/returns/{id}/state  {"state":"cancelled"}
                 POST %s/_sandbox/returns/{id}/label  {"carrier":"UPS","tracking_number":"1Z...","label_status":"in_transit"}
                 GET|PUT %s/_sandbox/faults       {"latency_ms":150,"error_rate":0.1,"outage":false}
                 GET  %s/_sandbox/deliveries
`, base, KeyFull, KeyOrders, KeyReturns, s.opts.WebhookSecret, s.opts.ShopID, base, base, base, base, base, base, base, base, base)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
