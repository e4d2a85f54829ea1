package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// The admin endpoints drive the sandbox over HTTP the way the Go methods do,
// for the demo UI, manual testing and the standalone binary. They answer
// plain JSON (not Loop's escaping: they are not Loop's API).

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func adminError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrUnknownOrder) || errors.Is(err, ErrUnknownReturn) {
		status = http.StatusNotFound
	} else if errors.Is(err, ErrFinalState) {
		status = http.StatusConflict
	}
	adminJSON(w, status, obj{"error": err.Error()})
}

type adminOrder struct {
	Name             string    `json:"name"`
	ProviderOrderID  int64     `json:"provider_order_id"`
	Email            string    `json:"email"`
	Zip              string    `json:"zip"`
	Phone            string    `json:"phone"`
	FirstName        string    `json:"first_name"`
	LastName         string    `json:"last_name"`
	Currency         string    `json:"currency"`
	DeliveredAt      time.Time `json:"delivered_at"`
	ReturnWindowDays int       `json:"return_window_days"`
	Items            []struct {
		Title string `json:"title"`
		SKU   string `json:"sku"`
		Price string `json:"price"`
	} `json:"items"`
}

type adminReturn struct {
	ID              int64      `json:"id"`
	OrderName       string     `json:"order_name"`
	ProviderOrderID int64      `json:"provider_order_id"`
	State           loop.State `json:"state"`
	Outcome         string     `json:"outcome"`
	Carrier         string     `json:"carrier"`
	TrackingNumber  string     `json:"tracking_number"`
	LabelStatus     string     `json:"label_status"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

func (s *Sandbox) handleAdminState(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var orders []obj
	for _, o := range s.orders {
		orders = append(orders, obj{
			"name": o.Name, "email": o.Email, "zip": o.Zip, "id": o.ID, "provider_order_id": o.ProviderOrderID,
			"delivered_at": nullTime(o.DeliveredAt), "return_window_days": o.ReturnWindowDays, "items": len(o.Items),
		})
	}
	hooks := make([]subscription, 0, len(s.hooks))
	for _, h := range s.hooks {
		hooks = append(hooks, *h)
	}
	keys := map[string][]loop.Scope{}
	for k, sc := range s.keys {
		for _, name := range []loop.Scope{loop.ScopeOrders, loop.ScopeReturns, loop.ScopeDeveloperTools} {
			if sc[name] {
				keys[k] = append(keys[k], name)
			}
		}
	}
	f := s.faults
	s.mu.Unlock()
	adminJSON(w, http.StatusOK, obj{
		"shop_id": s.opts.ShopID, "webhook_secret": s.opts.WebhookSecret, "keys": keys,
		"orders": orders, "returns": s.Returns(""), "webhooks": hooks, "faults": faultsView(f),
	})
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return iso(t)
}

func (s *Sandbox) handleAdminAddOrder(w http.ResponseWriter, r *http.Request) {
	var in adminOrder
	if err := readBody(r, &in); err != nil || in.Name == "" {
		adminJSON(w, http.StatusBadRequest, obj{"error": "want JSON with at least name"})
		return
	}
	o := Order{Name: in.Name, ProviderOrderID: in.ProviderOrderID, Email: in.Email, Zip: in.Zip, Phone: in.Phone, FirstName: in.FirstName, LastName: in.LastName,
		Currency: in.Currency, DeliveredAt: in.DeliveredAt, ReturnWindowDays: in.ReturnWindowDays}
	for _, it := range in.Items {
		o.Items = append(o.Items, Item{Title: it.Title, SKU: it.SKU, Price: it.Price})
	}
	o = s.AddOrder(o)
	adminJSON(w, http.StatusCreated, obj{"name": o.Name, "id": o.ID, "provider_order_id": o.ProviderOrderID})
}

func (s *Sandbox) handleAdminCreateReturn(w http.ResponseWriter, r *http.Request) {
	var in adminReturn
	if err := readBody(r, &in); err != nil || (in.OrderName == "" && in.ProviderOrderID == 0) {
		adminJSON(w, http.StatusBadRequest, obj{"error": "want JSON with at least order_name or provider_order_id"})
		return
	}
	info, err := s.CreateReturn(ReturnSpec{OrderName: in.OrderName, ProviderOrderID: in.ProviderOrderID, State: in.State, Outcome: in.Outcome,
		Carrier: in.Carrier, TrackingNumber: in.TrackingNumber, LabelStatus: in.LabelStatus})
	if err != nil {
		adminError(w, err)
		return
	}
	adminJSON(w, http.StatusCreated, info)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, ErrUnknownReturn
	}
	return id, nil
}

func (s *Sandbox) handleAdminAdvance(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		var info ReturnInfo
		if info, err = s.AdvanceReturn(id); err == nil {
			adminJSON(w, http.StatusOK, info)
			return
		}
	}
	adminError(w, err)
}

func (s *Sandbox) handleAdminSetState(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		adminError(w, err)
		return
	}
	var in struct {
		State loop.State `json:"state"`
	}
	if err := readBody(r, &in); err != nil {
		adminJSON(w, http.StatusBadRequest, obj{"error": "want {\"state\":...}"})
		return
	}
	info, err := s.SetReturnState(id, in.State)
	if err != nil {
		adminError(w, err)
		return
	}
	adminJSON(w, http.StatusOK, info)
}

func (s *Sandbox) handleAdminSetLabel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		adminError(w, err)
		return
	}
	var in struct {
		Carrier        string `json:"carrier"`
		TrackingNumber string `json:"tracking_number"`
		LabelStatus    string `json:"label_status"`
	}
	if err := readBody(r, &in); err != nil {
		adminJSON(w, http.StatusBadRequest, obj{"error": "want {\"carrier\",\"tracking_number\",\"label_status\"}"})
		return
	}
	info, err := s.SetLabel(id, in.Carrier, in.TrackingNumber, in.LabelStatus)
	if err != nil {
		adminError(w, err)
		return
	}
	adminJSON(w, http.StatusOK, info)
}

type faultsJSON struct {
	LatencyMS   int64   `json:"latency_ms"`
	ErrorRate   float64 `json:"error_rate"`
	Outage      bool    `json:"outage"`
	RateLimited bool    `json:"rate_limited"`
	RetryAfterS int64   `json:"retry_after_s,omitempty"`
}

func faultsView(f Faults) faultsJSON {
	return faultsJSON{LatencyMS: f.Latency.Milliseconds(), ErrorRate: f.ErrorRate, Outage: f.Outage, RateLimited: f.RateLimited,
		RetryAfterS: int64(f.RetryAfter / time.Second)}
}

func (s *Sandbox) handleAdminGetFaults(w http.ResponseWriter, r *http.Request) {
	adminJSON(w, http.StatusOK, faultsView(s.Faults()))
}

func (s *Sandbox) handleAdminSetFaults(w http.ResponseWriter, r *http.Request) {
	var in faultsJSON
	if err := readBody(r, &in); err != nil || in.ErrorRate < 0 || in.ErrorRate > 1 || in.LatencyMS < 0 || in.RetryAfterS < 0 {
		adminJSON(w, http.StatusBadRequest, obj{"error": "want {\"latency_ms\":>=0,\"error_rate\":0..1,\"outage\":bool}"})
		return
	}
	f := Faults{Latency: time.Duration(in.LatencyMS) * time.Millisecond, ErrorRate: in.ErrorRate, Outage: in.Outage, RateLimited: in.RateLimited,
		RetryAfter: time.Duration(in.RetryAfterS) * time.Second}
	s.SetFaults(f)
	adminJSON(w, http.StatusOK, faultsView(f))
}

func (s *Sandbox) handleAdminDeliveries(w http.ResponseWriter, r *http.Request) {
	adminJSON(w, http.StatusOK, obj{"deliveries": s.Deliveries()})
}

func (s *Sandbox) handleAdminFailProcessing(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		adminError(w, err)
		return
	}
	var in struct {
		Message string `json:"message"`
	}
	if r.ContentLength != 0 {
		if err := readBody(r, &in); err != nil {
			adminJSON(w, http.StatusBadRequest, obj{"error": "want {\"message\":...}"})
			return
		}
	}
	info, err := s.FailProcessing(id, in.Message)
	if err != nil {
		adminError(w, err)
		return
	}
	adminJSON(w, http.StatusOK, info)
}
