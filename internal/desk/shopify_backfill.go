package desk

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/shopifysync"
)

// ShopifyBackfill is the Shopify sync's backfill, as the settings pages
// need it (shopifysync.Syncer).
type ShopifyBackfill interface {
	Backfill(ctx context.Context, shopID int64) (*shopifysync.Backfill, error)
	StartBackfill(ctx context.Context, shopID int64) (*shopifysync.Backfill, error)
}

// shopifyBackfillView is the "shopify-backfill" fragment's data.
type shopifyBackfillView struct {
	Status, StatusLabel   string
	Active                bool
	RowsDone, RowsTotal   int64
	Percent               float64
	ETA                   string
	ErrorCount            int64
	LastError             string
	StartedAt, FinishedAt string
	Started               bool   // just started from this page
	Notice                string // why starting was refused
}

var backfillLabels = map[string]string{
	shopifysync.StatusStarting: "Starting", shopifysync.StatusRunning: "Shopify is preparing the orders",
	shopifysync.StatusImporting: "Importing", shopifysync.StatusCompleted: "Completed", shopifysync.StatusFailed: "Failed",
}

// ShopifyBackfillView reads the shop's backfill for the fragment (the
// Shopify settings page includes it).
func (d *Desk) ShopifyBackfillView(ctx context.Context, shopID int64) (shopifyBackfillView, error) {
	v := shopifyBackfillView{Status: "none"}
	if d.Backfill == nil {
		return v, nil
	}
	b, err := d.Backfill.Backfill(ctx, shopID)
	if errors.Is(err, shopifysync.ErrNoBackfill) {
		return v, nil
	}
	if err != nil {
		return v, err
	}
	v = shopifyBackfillView{Status: b.Status, StatusLabel: backfillLabels[b.Status], Active: b.Active(), RowsDone: b.RowsDone,
		RowsTotal: b.RowsTotal, Percent: b.Percent(), ErrorCount: b.ErrorCount, LastError: b.LastError,
		StartedAt: b.StartedAt.UTC().Format("2 Jan 2006 15:04 UTC")}
	if eta := b.ETA(time.Now()); eta > 0 {
		v.ETA = eta.String()
	}
	if b.FinishedAt != nil {
		v.FinishedAt = b.FinishedAt.UTC().Format("2 Jan 2006 15:04 UTC")
	}
	return v, nil
}

// ShopifyBackfillPage shows the backfill's progress: the fragment alone
// for a page that swaps it in (X-Hubdesk-Fragment: 1), else in a page.
func (d *Desk) ShopifyBackfillPage(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	v, err := d.ShopifyBackfillView(r.Context(), u.ShopID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	q := r.URL.Query()
	v.Started = q.Get("started") == "1"
	switch q.Get("error") {
	case "running":
		v.Notice = "An import is already running."
	case "not_connected":
		v.Notice = "The shop is not connected to Shopify yet: connect it first."
	}
	if r.Header.Get(fragmentHeader) == "1" {
		d.render.Fragment(w, http.StatusOK, "shopify-backfill", v)
		return
	}
	d.page(w, r, http.StatusOK, "settings_shopify_backfill", "Settings · Shopify import", v)
}

// StartShopifyBackfill starts a backfill (Owner and Admin).
func (d *Desk) StartShopifyBackfill(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	if d.Backfill == nil {
		http.Redirect(w, r, "/settings/shopify/backfill?error=not_connected", http.StatusSeeOther)
		return
	}
	_, err := d.Backfill.StartBackfill(r.Context(), u.ShopID)
	switch {
	case errors.Is(err, shopifysync.ErrBackfillRunning):
		http.Redirect(w, r, "/settings/shopify/backfill?error=running", http.StatusSeeOther)
	case errors.Is(err, shopifysync.ErrNotConnected):
		http.Redirect(w, r, "/settings/shopify/backfill?error=not_connected", http.StatusSeeOther)
	case err != nil:
		d.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/settings/shopify/backfill?started=1", http.StatusSeeOther)
	}
}
