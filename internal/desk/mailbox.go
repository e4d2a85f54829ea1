package desk

import (
	"net/http"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/demo"
	"github.com/hubdesk/hubdesk/internal/shop"
)

// mailboxPage is the demo mailbox: the mails the demo's relay caught,
// newest first, and the one opened.
type mailboxPage struct {
	Mails    []demo.CapturedMail
	Open     *demo.CapturedMail
	Size     int
	Headers  []mailHeader // of the open mail, those that show threading
	NotFound bool
}

type mailHeader struct{ Name, Value string }

// threadingHeaders are the headers the mailbox shows: how the mail
// threads and whether it says it was automatic.
var threadingHeaders = []string{"From", "To", "Date", "Message-Id", "In-Reply-To", "References", "Auto-Submitted"}

// DemoMailbox lists the mail the demo sent (to shoppers and to staff)
// and shows one: its threading headers, its HTML in a sandboxed frame
// and its text. Only the demo has a mailbox; elsewhere the page is not
// found.
func (d *Desk) DemoMailbox(w http.ResponseWriter, r *http.Request) {
	if !d.mailboxFor(d.shopOf(r)) {
		d.Error(w, r, http.StatusNotFound, "This page exists in the demo only.")
		return
	}
	v := mailboxPage{Mails: d.Mailbox.Mails(), Size: demo.MailboxSize}
	if raw := r.URL.Query().Get("id"); raw != "" {
		id, _ := strconv.Atoi(raw)
		if m, ok := d.Mailbox.Mail(id); ok {
			v.Open = &m
			for _, h := range threadingHeaders {
				if val := m.Header.Get(h); val != "" {
					v.Headers = append(v.Headers, mailHeader{h, val})
				}
			}
		} else {
			v.NotFound = true
		}
	} else if len(v.Mails) > 0 {
		http.Redirect(w, r, "/demo/mailbox?id="+strconv.Itoa(v.Mails[0].ID), http.StatusSeeOther)
		return
	}
	d.page(w, r, http.StatusOK, "demo_mailbox", "Demo mailbox", v)
}

// DemoMailboxHTML serves a captured mail's HTML for the mailbox page's
// frame. Mail HTML is content from elsewhere: the CSP sandboxes it (no
// script, no form, an origin of its own, so it cannot reach the desk),
// lets it load only its inline styles and https images, and only the
// desk may frame it.
func (d *Desk) DemoMailboxHTML(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if !d.mailboxFor(d.shopOf(r)) || err != nil {
		http.NotFound(w, r)
		return
	}
	m, ok := d.Mailbox.Mail(id)
	if !ok || m.HTML == "" {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(m.HTML))
}

// mailboxFor says the shop's staff see the demo mailbox.
func (d *Desk) mailboxFor(sh *shop.Shop) bool {
	return d.Mailbox != nil && sh != nil && d.MailboxShop != "" && sh.Domain == d.MailboxShop
}

// shopOf is the signed-in person's shop; nil when it cannot be read.
func (d *Desk) shopOf(r *http.Request) *shop.Shop {
	u := auth.UserFrom(r.Context())
	if u == nil {
		return nil
	}
	sh, err := d.Shops.Get(r.Context(), u.ShopID)
	if err != nil {
		return nil
	}
	return sh
}
