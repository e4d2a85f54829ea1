package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/privacy"
)

type privacyRequestJSON struct {
	ID           int64      `json:"id"`
	Kind         string     `json:"kind"`
	CustomerID   string     `json:"customer_id"`
	Email        string     `json:"customer_email"`
	RequestID    string     `json:"request_id"`
	Summary      string     `json:"summary"`
	HasExport    bool       `json:"has_export"`
	ReceivedAt   time.Time  `json:"received_at"`
	DownloadedAt *time.Time `json:"downloaded_at"`
}

func toPrivacyRequestJSON(r *privacy.Request) privacyRequestJSON {
	return privacyRequestJSON{ID: r.ID, Kind: r.Kind, CustomerID: r.CustomerExternalID, Email: r.CustomerEmail, RequestID: r.RequestID,
		Summary: r.Summary, HasExport: r.HasExport(), ReceivedAt: r.ReceivedAt.UTC(), DownloadedAt: utc(r.DownloadedAt)}
}

// ListPrivacyRequests lists Shopify's privacy requests for the shop,
// newest first (Owner and Admin).
func (a *API) ListPrivacyRequests(w http.ResponseWriter, r *http.Request) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return
	}
	p, bad := httpkit.ParsePage(r)
	if bad != nil {
		httpkit.WriteError(w, bad)
		return
	}
	list, next, err := a.privacy.Store.List(r.Context(), shopID, p)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	writeList(w, list, next, toPrivacyRequestJSON)
}

// GetPrivacyExport returns a data request's export, the JSON document to
// hand to the customer; the download is audited.
func (a *API) GetPrivacyExport(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	id, ok := pathID(r)
	if !ok {
		httpkit.WriteError(w, httpkit.NotFound("privacy request"))
		return
	}
	req, err := a.privacy.Download(r.Context(), u.ShopID, id, audit.UserActor(auth.UserFrom(r.Context())))
	if err != nil {
		a.respond(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="privacy-request-`+strconv.FormatInt(req.ID, 10)+`.json"`)
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(req.Document))
}
