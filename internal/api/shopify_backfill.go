package api

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/shopifysync"
)

// Codes of the Shopify backfill's refusals.
const (
	CodeBackfillRunning     = "backfill_running"
	CodeShopifyNotConnected = "shopify_not_connected"
)

// ShopifyBackfill serves /api/v1/shopify/backfill: the progress of the
// shop's full import of its Shopify orders, and starting one. A separate
// handler from API because it needs the Shopify sync.
type ShopifyBackfill struct {
	Sync   *shopifysync.Syncer
	Logger *slog.Logger
	Now    func() time.Time
}

type backfillJSON struct {
	Status     string     `json:"status"`
	RowsDone   int64      `json:"rows_done"`
	RowsTotal  int64      `json:"rows_total"`
	Percent    float64    `json:"percent"`
	ETASeconds *int64     `json:"eta_seconds"`
	ErrorCount int64      `json:"error_count"`
	LastError  string     `json:"last_error"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	UpdatedAt  *time.Time `json:"updated_at"`
}

func (h *ShopifyBackfill) toJSON(b *shopifysync.Backfill) backfillJSON {
	if b == nil {
		return backfillJSON{Status: "none"}
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	started, updated := b.StartedAt.UTC(), b.UpdatedAt.UTC()
	out := backfillJSON{Status: b.Status, RowsDone: b.RowsDone, RowsTotal: b.RowsTotal, Percent: float64(int(b.Percent()*10)) / 10,
		ErrorCount: b.ErrorCount, LastError: b.LastError, StartedAt: &started, UpdatedAt: &updated}
	if eta := b.ETA(now); eta > 0 {
		secs := int64(eta / time.Second)
		out.ETASeconds = &secs
	}
	if b.FinishedAt != nil {
		f := b.FinishedAt.UTC()
		out.FinishedAt = &f
	}
	return out
}

// Get answers GET /api/v1/shopify/backfill: the shop's latest backfill
// ("none" when there has been none).
func (h *ShopifyBackfill) Get(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	b, err := h.Sync.Backfill(r.Context(), u.ShopID)
	if errors.Is(err, shopifysync.ErrNoBackfill) {
		b, err = nil, nil
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpkit.JSON(w, http.StatusOK, h.toJSON(b))
}

// Start answers POST /api/v1/shopify/backfill: a new backfill of every
// order, worked in the background (202).
func (h *ShopifyBackfill) Start(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	b, err := h.Sync.StartBackfill(r.Context(), u.ShopID)
	switch {
	case errors.Is(err, shopifysync.ErrBackfillRunning):
		h.fail(w, r, &httpkit.Error{Status: http.StatusConflict, Code: CodeBackfillRunning, Message: "a backfill is already running for this shop"})
		return
	case errors.Is(err, shopifysync.ErrNotConnected):
		h.fail(w, r, &httpkit.Error{Status: http.StatusConflict, Code: CodeShopifyNotConnected, Message: "the shop is not connected to Shopify; connect it first"})
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	httpkit.JSON(w, http.StatusAccepted, h.toJSON(b))
}

func (h *ShopifyBackfill) fail(w http.ResponseWriter, r *http.Request, err error) {
	var apiErr *httpkit.Error
	if errors.As(err, &apiErr) {
		httpkit.WriteError(w, apiErr)
		return
	}
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	if unreadable, ok := unreadableSecret(r, log, err); ok {
		httpkit.WriteError(w, unreadable)
		return
	}
	log.ErrorContext(r.Context(), "api: shopify backfill failed", "error", err)
	httpkit.WriteError(w, httpkit.Internal())
}
