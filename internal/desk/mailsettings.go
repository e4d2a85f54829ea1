package desk

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/inbound"
)

// mailSettingsPage is Settings → Mail: the shop's support addresses (the
// built-in one and its own, routed by the SMTP listener) and the IMAP
// mailbox imported into the helpdesk.
type mailSettingsPage struct {
	*inbound.MailView
	// Form is the IMAP form as last submitted (on an error) or saved.
	Form    inbound.Account
	Address string // the address form as submitted, on an error
	Notice  string
	Error   string
}

// MailSettings shows Settings → Mail (Owner and Admin).
func (d *Desk) MailSettings(w http.ResponseWriter, r *http.Request) {
	notice := ""
	switch r.URL.Query().Get("done") {
	case "address-added":
		notice = "Address added. Mail to it now opens tickets."
	case "address-removed":
		notice = "Address removed. Mail to it is refused from now on."
	case "imap-saved":
		notice = "Mailbox connected: hubdesk logged in and found the folder. New mail is imported within a minute."
	case "imap-removed":
		notice = "Mailbox disconnected. What was imported stays."
	}
	d.renderMailSettings(w, r, http.StatusOK, &mailSettingsPage{Notice: notice})
}

func (d *Desk) renderMailSettings(w http.ResponseWriter, r *http.Request, status int, p *mailSettingsPage) {
	u := auth.UserFrom(r.Context())
	sh, err := d.Shops.Get(r.Context(), u.ShopID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	if p.MailView, err = d.MailIn.View(r.Context(), u.ShopID, sh.Domain); err != nil {
		d.serverError(w, r, err)
		return
	}
	if p.Form.Host == "" && p.IMAP != nil {
		p.Form = *p.IMAP
	}
	if p.Form.Mailbox == "" {
		p.Form.Mailbox = "INBOX"
	}
	if p.Form.Security == "" {
		p.Form.Security = inbound.SecurityTLS
	}
	d.page(w, r, status, "settings_mail", "Settings · Mail", p)
}

// AddMailAddress adds one of the shop's own support addresses.
func (d *Desk) AddMailAddress(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	raw := r.PostFormValue("address")
	_, err := d.MailIn.AddAddress(r.Context(), audit.UserActor(u), u.ShopID, raw)
	var msg string
	switch {
	case err == nil:
		http.Redirect(w, r, "/settings/mail?done=address-added", http.StatusSeeOther)
		return
	case errors.Is(err, inbound.ErrAddressInvalid):
		msg = "That is not an email address. Enter one such as support@your-shop.com."
	case errors.Is(err, inbound.ErrAddressTaken):
		msg = "That address is already in use, by this shop or another."
	case errors.Is(err, inbound.ErrAddressReserved):
		msg = "Addresses in the built-in mail domain are the shops' own: use the built-in address above, or an address of your domain."
	case errors.Is(err, inbound.ErrTooManyAddress):
		msg = "A shop has at most " + strconv.Itoa(inbound.MaxAddressesPerShop) + " addresses. Remove one first."
	default:
		d.serverError(w, r, err)
		return
	}
	d.renderMailSettings(w, r, http.StatusUnprocessableEntity, &mailSettingsPage{Address: raw, Error: msg})
}

// RemoveMailAddress removes one of the shop's support addresses; another
// shop's id is not found.
func (d *Desk) RemoveMailAddress(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		d.NotFound(w, r)
		return
	}
	switch err := d.MailIn.RemoveAddress(r.Context(), audit.UserActor(u), u.ShopID, id); {
	case errors.Is(err, inbound.ErrAddressNotFound):
		d.NotFound(w, r)
	case err != nil:
		d.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/settings/mail?done=address-removed", http.StatusSeeOther)
	}
}

// SaveIMAP checks the mailbox (login and select) and connects it; a
// failed check saves nothing and says what the server answered.
func (d *Desk) SaveIMAP(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	a := inbound.Account{
		Host: r.PostFormValue("host"), Security: inbound.Security(r.PostFormValue("security")),
		Username: r.PostFormValue("username"), Password: r.PostFormValue("password"),
		Mailbox: r.PostFormValue("mailbox"), DeleteAfterImport: r.PostFormValue("delete_after_import") == "on",
	}
	if port := strings.TrimSpace(r.PostFormValue("port")); port != "" {
		var err error
		if a.Port, err = strconv.Atoi(port); err != nil {
			a.Port = -1 // refused by the check below, with the port's message
		}
	}
	err := d.MailIn.SaveIMAP(r.Context(), audit.UserActor(u), u.ShopID, a)
	var check *inbound.CheckError
	var msg string
	switch {
	case err == nil:
		http.Redirect(w, r, "/settings/mail?done=imap-saved", http.StatusSeeOther)
		return
	case errors.As(err, &check):
		// The server's own words (a login refused, a folder missing) are
		// what the merchant needs; they never hold the password.
		msg = "hubdesk could not use this mailbox, so nothing was saved: " + check.Err.Error()
	case errors.Is(err, inbound.ErrAccountHost):
		msg = "Enter the IMAP server's host name, such as imap.gmail.com."
	case errors.Is(err, inbound.ErrAccountPort):
		msg = "The port is a number from 1 to 65535 (993 for TLS, 143 for STARTTLS)."
	case errors.Is(err, inbound.ErrAccountSecurity):
		msg = "Choose TLS or STARTTLS: a mailbox without TLS is allowed only on this server's own machine."
	case errors.Is(err, inbound.ErrAccountLogin):
		msg = "Enter the mailbox's username and password."
	case errors.Is(err, inbound.ErrAccountMailbox):
		msg = "The folder name is not valid."
	default:
		d.serverError(w, r, err)
		return
	}
	a.Password = ""
	d.renderMailSettings(w, r, http.StatusUnprocessableEntity, &mailSettingsPage{Form: a, Error: msg})
}

// DisconnectIMAP stops importing the shop's mailbox.
func (d *Desk) DisconnectIMAP(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	if err := d.MailIn.DisconnectIMAP(r.Context(), audit.UserActor(u), u.ShopID); err != nil {
		d.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/mail?done=imap-removed", http.StatusSeeOther)
}
