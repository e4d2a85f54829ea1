package desk

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/privacy"
)

// privacyPage is Settings → Privacy requests: what Shopify's privacy
// webhooks asked and what was done, with the exports to download.
type privacyPage struct {
	Requests []privacyRow
	Next     string
}

type privacyRow struct {
	*privacy.Request
	What string // the kind, in words
}

// privacyKinds words each kind of request.
var privacyKinds = map[string]string{
	privacy.KindDataRequest:     "Data request",
	privacy.KindCustomersRedact: "Customer erased",
	privacy.KindShopRedact:      "Shop's customer data erased",
}

// PrivacyRequests lists the shop's privacy requests, newest first (Owner
// and Admin: exports hold a customer's personal data).
func (d *Desk) PrivacyRequests(w http.ResponseWriter, r *http.Request) {
	p, ok := d.listPage(w, r)
	if !ok {
		return
	}
	list, next, err := d.Privacy.Store.List(r.Context(), auth.UserFrom(r.Context()).ShopID, p)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	v := privacyPage{Next: next}
	for _, req := range list {
		v.Requests = append(v.Requests, privacyRow{Request: req, What: privacyKinds[req.Kind]})
	}
	d.page(w, r, http.StatusOK, "settings_privacy", "Settings · Privacy requests", v)
}

// PrivacyExport downloads a data request's export as JSON; the download
// is audited.
func (d *Desk) PrivacyExport(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		d.NotFound(w, r)
		return
	}
	req, err := d.Privacy.Download(r.Context(), u.ShopID, id, audit.UserActor(u))
	switch {
	case errors.Is(err, privacy.ErrNotFound):
		d.NotFound(w, r)
		return
	case err != nil:
		d.serverError(w, r, err)
		return
	}
	ServeExport(w, req)
}

// ServeExport sends an export as a JSON download, never rendered inline.
func ServeExport(w http.ResponseWriter, req *privacy.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="privacy-request-`+strconv.FormatInt(req.ID, 10)+`.json"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(req.Document))
}
