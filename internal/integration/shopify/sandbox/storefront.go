package sandbox

import (
	"bytes"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/web"
)

// The storefront is just enough of a Shopify theme to try the hub from: a
// product page with the hub's drawer, a customer login that is a list of
// "Log in as …" buttons (the sandbox has no passwords), the account page
// and cart permalinks (the hub's Reorder button). Everything is inline: no
// third-party assets, no CDN.

const layoutHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} · {{.ShopName}}</title>
<style>
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#fbfaf7;color:#222}
a{color:#1f4d3a}
.sandbox{background:#ffe9a8;color:#5a4300;font-size:13px;text-align:center;padding:4px 12px}
header.shop{display:flex;flex-wrap:wrap;gap:12px 24px;align-items:center;justify-content:space-between;padding:16px 24px;border-bottom:1px solid #e7e3da;background:#fff}
header.shop .brand{font-weight:700;font-size:20px;text-decoration:none;color:#222}
header.shop nav{display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header.shop form{margin:0}
.linkbutton{background:none;border:0;padding:0;font:inherit;color:#1f4d3a;text-decoration:underline;cursor:pointer}
main{max-width:960px;margin:0 auto;padding:24px}
.card{background:#fff;border:1px solid #e7e3da;border-radius:12px;padding:20px;margin-bottom:20px}
.product{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:24px;align-items:center}
@media (max-width:640px){.product{grid-template-columns:1fr}}
.product svg{width:100%;height:auto;border-radius:10px;background:#e9efe9}
.price{font-size:22px;font-weight:600}
.button{display:inline-block;background:#1f4d3a;color:#fff;border:0;border-radius:8px;padding:10px 18px;font:inherit;text-decoration:none;cursor:pointer}
.button:disabled{opacity:.55;cursor:not-allowed}
.button.secondary{background:#fff;color:#1f4d3a;border:1px solid #1f4d3a}
ul.accounts{list-style:none;padding:0;margin:0}
ul.accounts li{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;justify-content:space-between;padding:10px 0;border-bottom:1px solid #f0ede6}
ul.accounts form{margin:0}
.muted{color:#6b6b6b;font-size:14px}
footer{max-width:960px;margin:0 auto;padding:8px 24px 32px;color:#6b6b6b;font-size:13px}
table{border-collapse:collapse}td,th{text-align:left;padding:4px 12px 4px 0}
</style></head><body>
<div class="sandbox">Shopify storefront sandbox — not a real store</div>
<header class="shop"><a class="brand" href="/">{{.ShopName}}</a>
<nav><a href="{{.ProxyPrefix}}">My orders</a>
{{if .Customer}}<a href="/account">{{.Customer.Name}}</a><form method="post" action="/account/logout"><button class="linkbutton">Log out</button></form>
{{else}}<a href="/account/login">Log in</a>{{end}}</nav></header>
<main>{{.Body}}</main>
<footer>{{.Shop}} · App Proxy at <code>{{.ProxyPrefix}}</code></footer>
{{if and .Drawer .HubScriptURL}}<script src="{{.HubScriptURL}}" data-shop="{{.Shop}}" data-proxy-path="{{.ProxyPrefix}}" defer></script>{{end}}
</body></html>`

var layout = template.Must(template.New("layout").Parse(layoutHTML))

var pages = template.Must(template.New("pages").Parse(`
{{define "home"}}
<section class="card product">
<svg viewBox="0 0 400 300" role="img" aria-label="Merino hiking socks"><rect width="400" height="300" fill="#e9efe9"/>
<path d="M170 40h70v120c0 20 10 30 40 45l40 20c25 12 25 50-5 50h-70c-30 0-55-15-75-40l-20-25c-10-12-10-25 0-35z" fill="#4a5d52"/>
<path d="M170 40h70v30h-70z" fill="#2f3d35"/><path d="M250 245h75c0 0 5-20-10-28" fill="none" stroke="#2f3d35" stroke-width="6"/></svg>
<div><h1>Merino Hiking Socks</h1><p class="price">$18.00</p>
<p>Cushioned merino for long days on the trail. Charcoal, size M.</p>
<p><button class="button" type="button" disabled>Add to cart</button></p>
<p class="muted">Orders, tracking and returns: <a href="{{.ProxyPrefix}}">My orders</a>{{if .HubScriptURL}}, or the button in the corner of this page, which opens them in a drawer{{end}}.</p></div>
</section>
{{template "accounts" .}}
{{end}}

{{define "accounts"}}
<section class="card"><h2>Log in as a sandbox customer</h2>
<p class="muted">The sandbox has no passwords. Logging in sets the storefront's own session; the App Proxy then tells the app who is logged in through the signed <code>logged_in_customer_id</code>.</p>
{{if .Customers}}<ul class="accounts">{{range .Customers}}
<li><span><strong>{{.Name}}</strong> <span class="muted">{{.Email}} · id {{.ID}}</span></span>
<form method="post" action="/account/login"><input type="hidden" name="customer" value="{{.ID}}"><input type="hidden" name="return_url" value="{{$.ReturnTo}}">
<button class="button secondary">Log in as {{.FirstName}}</button></form></li>{{end}}
</ul>{{else}}<p>This sandbox has no customers.</p>{{end}}
{{if .Customer}}<p>Logged in as <strong>{{.Customer.Name}}</strong>. <a href="{{.ProxyPrefix}}">Open my orders</a></p>{{end}}
</section>
{{end}}

{{define "login"}}<h1>Log in</h1>{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}{{template "accounts" .}}{{end}}

{{define "account"}}
<section class="card"><h1>My account</h1>
<table><tr><th>Name</th><td>{{.Customer.Name}}</td></tr><tr><th>Email</th><td>{{.Customer.Email}}</td></tr><tr><th>Customer id</th><td>{{.Customer.ID}}</td></tr></table>
<p><a class="button" href="{{.ProxyPrefix}}">Orders and returns</a></p></section>
{{end}}

{{define "addresses"}}
<section class="card"><h1>Addresses</h1>
<p>{{.Customer.Name}}'s addresses are kept here by the store: Shopify's <code>/account/addresses</code> page, where a shopper adds, edits and picks the default one.</p>
<p><a class="button" href="{{.ProxyPrefix}}">Orders and returns</a></p></section>
{{end}}

{{define "cart"}}
<section class="card"><h1>Cart</h1>
<p class="muted">Built from a cart permalink{{if .Data.Storefront}} (storefront=true: the cart opens instead of checkout){{else}} (Shopify would go straight to checkout){{end}}.</p>
<table><tr><th>Variant</th><th>Quantity</th></tr>{{range .Data.Lines}}<tr><td>{{.Variant}}</td><td>{{.Quantity}}</td></tr>{{end}}</table>
{{with .Data.Email}}<p>Checkout email: {{.}}</p>{{end}}
</section>
{{end}}

{{define "unavailable"}}<section class="card"><h1>This page is not available right now</h1>
<p>The app behind <code>{{.ProxyPrefix}}</code> did not answer. Please try again in a moment.</p></section>{{end}}

{{define "notfound"}}<section class="card"><h1>Page not found</h1><p><a href="/">Continue shopping</a></p></section>{{end}}

{{define "badrequest"}}<section class="card"><h1>Something is wrong with this link</h1><p>{{.Error}}</p><p><a href="/">Continue shopping</a></p></section>{{end}}
`))

// view is what the layout and the pages see.
type view struct {
	Title        string
	Shop         string
	ShopName     string
	ProxyPrefix  string
	HubScriptURL string
	Drawer       bool
	Customer     *Customer
	Customers    []Customer
	ReturnTo     string
	Error        string
	Data         any
	Body         template.HTML
}

func (s *Sandbox) newView(r *http.Request, title string) view {
	v := view{Title: title, Shop: s.opts.Shop, ShopName: s.opts.ShopName, ProxyPrefix: s.opts.ProxyPrefix,
		HubScriptURL: s.opts.HubScriptURL, Customers: s.opts.Customers}
	if r != nil {
		if c, ok := s.loggedIn(r); ok {
			v.Customer = &c
		}
	}
	return v
}

// render renders page name inside the layout, into a buffer first so a
// template error never sends half a page.
func (s *Sandbox) render(w http.ResponseWriter, r *http.Request, status int, title, name string, edit func(*view)) {
	v := s.newView(r, title)
	if edit != nil {
		edit(&v)
	}
	var body bytes.Buffer
	if err := pages.ExecuteTemplate(&body, name, v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	v.Body = template.HTML(body.String())
	var page bytes.Buffer
	if err := layout.Execute(&page, v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(page.Bytes())
}

// renderTo renders a ready body inside the layout (Liquid answers).
func (s *Sandbox) renderTo(w io.Writer, title string, body template.HTML) error {
	v := s.newView(nil, title)
	v.Body = body
	return layout.Execute(w, v)
}

func (s *Sandbox) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "Home", "home", func(v *view) {
		v.Drawer = true
		v.ReturnTo = "/"
	})
}

func (s *Sandbox) account(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.loggedIn(r); !ok {
		http.Redirect(w, r, "/account/login?return_url=%2Faccount", http.StatusFound)
		return
	}
	s.render(w, r, http.StatusOK, "My account", "account", nil)
}

// addresses stands for Shopify's /account/addresses, which the hub's
// Account tab links to.
func (s *Sandbox) addresses(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.loggedIn(r); !ok {
		http.Redirect(w, r, "/account/login?return_url=%2Faccount%2Faddresses", http.StatusFound)
		return
	}
	s.render(w, r, http.StatusOK, "Addresses", "addresses", nil)
}

func (s *Sandbox) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "Log in", "login", func(v *view) {
		v.ReturnTo = returnPath(r)
	})
}

// login starts a storefront session for a sandbox customer: the form on
// the login page (POST) and the ready-made link LoginAsURL (GET), which
// the demo prints so one click lands a shopper on the hub.
func (s *Sandbox) login(w http.ResponseWriter, r *http.Request) {
	id := r.FormValue("customer")
	c, ok := s.customer(id)
	if !ok {
		s.render(w, r, http.StatusNotFound, "Log in", "login", func(v *view) {
			v.Error = "No sandbox customer has the id " + strconv.Quote(id) + "."
			v.ReturnTo = returnPath(r)
		})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: c.ID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	to := returnPath(r)
	if to == "" {
		to = "/account"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *Sandbox) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	to := returnPath(r)
	if to == "" {
		to = "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// returnPath is where to go after logging in or out: Shopify's return_url
// (or return_to), accepted only as a path on this storefront so the login
// page cannot be used to send a shopper elsewhere (web.LocalPath).
func returnPath(r *http.Request) string {
	to := r.FormValue("return_url")
	if to == "" {
		to = r.FormValue("return_to")
	}
	local, _ := web.LocalPath(to)
	return local
}

type cartLine struct {
	Variant  string
	Quantity int
}

// cart shows what a cart permalink (/cart/VARIANT:QTY,...) would put in
// the cart, so the hub's Reorder button leads somewhere.
func (s *Sandbox) cart(w http.ResponseWriter, r *http.Request) {
	var lines []cartLine
	for _, part := range strings.Split(r.PathValue("items"), ",") {
		variant, qty, ok := strings.Cut(part, ":")
		n, err := strconv.Atoi(qty)
		if _, verr := strconv.ParseUint(variant, 10, 64); !ok || err != nil || verr != nil || n < 1 {
			s.render(w, r, http.StatusBadRequest, "Cart", "badrequest", func(v *view) {
				v.Error = "A cart permalink lists VARIANT_ID:QUANTITY pairs separated by commas; " + strconv.Quote(part) + " is not one."
			})
			return
		}
		lines = append(lines, cartLine{variant, n})
	}
	s.render(w, r, http.StatusOK, "Cart", "cart", func(v *view) {
		v.Data = struct {
			Lines      []cartLine
			Storefront bool
			Email      string
		}{lines, r.URL.Query().Get("storefront") == "true", r.URL.Query().Get("checkout[email]")}
	})
}

func (s *Sandbox) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusNotFound, "Not found", "notfound", nil)
}

// faviconSVG is the storefront's icon. Browsers ask every origin for
// /favicon.ico, hub pages shown through the App Proxy included; a store
// always has one.
const faviconSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f4d3a"/><path d="M9 12h14l-2 12H11z" fill="#fff"/><path d="M12 12a4 4 0 0 1 8 0" fill="none" stroke="#fff" stroke-width="2"/></svg>`

func favicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	io.WriteString(w, faviconSVG)
}
