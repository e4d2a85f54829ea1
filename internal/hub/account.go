package hub

import (
	"net/http"
)

// accountPage is the Account tab: who the store knows the shopper as, the
// address it keeps for them, and where to change either — the store's own
// account pages, since the store, not the hub, owns the account.
type accountPage struct {
	Known                    bool // the customer is synced to hubdesk
	Name, Email              string
	Address                  []string
	AccountURL, AddressesURL string
	HelpURL                  string
}

// Account is the Account tab. A shopper logged in but not synced yet sees
// the links without the details.
func (h *Hub) Account(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	data := accountPage{AccountURL: s.storefrontURL("/account"), AddressesURL: s.storefrontURL("/account/addresses"),
		HelpURL: safeURL(s.cfg.General.HelpCentreURL)}
	if c := s.customer; c != nil {
		data.Known = true
		data.Email = c.Email
		if c.FirstName != "" || c.LastName != "" {
			data.Name = c.Name()
		}
		data.Address = s.loc.AddressLines(c.DefaultAddress)
	}
	h.page(w, s, http.StatusOK, "account", s.loc.T("account.title"), data)
}
