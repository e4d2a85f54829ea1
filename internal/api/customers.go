package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/httpkit"
)

// customerJSON is the Customer schema of openapi.json. The API has its own
// types rather than tags on the commerce model so the wire format changes
// only when this file and the document change together.
type customerJSON struct {
	ID         int64  `json:"id"`
	ExternalID string `json:"external_id"`
	Email      string `json:"email"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Phone      string `json:"phone"`
	// DefaultAddress is the address the customer keeps with the store.
	DefaultAddress commerce.Address `json:"default_address"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
}

func toCustomerJSON(c *commerce.Customer) customerJSON {
	return customerJSON{
		ID: c.ID, ExternalID: c.ExternalID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
		Phone: c.Phone, DefaultAddress: c.DefaultAddress, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
	}
}

// customerInput is the CustomerInput schema: a customer keyed by the
// platform's id. Times are strings so a bad one is reported with its field.
type customerInput struct {
	ExternalID string `json:"external_id"`
	Email      string `json:"email"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Phone      string `json:"phone"`
	// DefaultAddress is optional; absent, the customer has none.
	DefaultAddress commerce.Address `json:"default_address"`
	CreatedAt      string           `json:"created_at"`
	UpdatedAt      string           `json:"updated_at"`
}

// model converts the input; prefix places field names in error messages
// when the customer is embedded in an order.
func (in *customerInput) model(prefix string) (commerce.Customer, error) {
	c := commerce.Customer{ExternalID: in.ExternalID, Email: in.Email, FirstName: in.FirstName, LastName: in.LastName, Phone: in.Phone,
		DefaultAddress: in.DefaultAddress}
	var err error
	if c.CreatedAt, err = parseTime(prefix+"created_at", in.CreatedAt); err != nil {
		return c, err
	}
	if c.UpdatedAt, err = parseTime(prefix+"updated_at", in.UpdatedAt); err != nil {
		return c, err
	}
	return c, nil
}

// ListCustomers answers GET /api/v1/customers: the shop's customers, newest
// first, optionally searched by name, email, phone or external id (q).
func (a *API) ListCustomers(w http.ResponseWriter, r *http.Request) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return
	}
	p, bad := httpkit.ParsePage(r)
	if bad != nil {
		httpkit.WriteError(w, bad)
		return
	}
	customers, next, err := a.commerce.ListCustomers(r.Context(), shopID, r.URL.Query().Get("q"), p)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	writeList(w, customers, next, toCustomerJSON)
}

// GetCustomer answers GET /api/v1/customers/{id}.
func (a *API) GetCustomer(w http.ResponseWriter, r *http.Request) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return
	}
	c, err := a.customer(r, shopID)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	httpkit.JSON(w, http.StatusOK, toCustomerJSON(c))
}

// customer loads the customer named by the path. Another shop's customer is
// "not found" exactly like a missing one, so ids reveal nothing across shops.
func (a *API) customer(r *http.Request, shopID int64) (*commerce.Customer, error) {
	id, ok := pathID(r)
	if !ok {
		return nil, httpkit.NotFound("customer")
	}
	c, err := a.commerce.Customer(r.Context(), shopID, id)
	if errors.Is(err, commerce.ErrNotFound) {
		return nil, httpkit.NotFound("customer")
	}
	return c, err
}

// UpsertCustomer answers PUT /api/v1/customers: insert or update by
// external_id. It answers 200 with the stored customer in every case, and
// says what happened in the X-Upsert-Result header (inserted, updated, or
// stale when updated_at was older than the stored record's and nothing
// changed), so retries are safe and callers need not branch on status.
func (a *API) UpsertCustomer(w http.ResponseWriter, r *http.Request) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return
	}
	var in customerInput
	if err := decodeJSON(w, r, &in); err != nil {
		a.respond(w, r, err)
		return
	}
	c, err := in.model("")
	if err != nil {
		a.respond(w, r, err)
		return
	}
	stored, res, err := a.commerce.UpsertCustomer(r.Context(), shopID, c)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	w.Header().Set(UpsertResultHeader, res.String())
	httpkit.JSON(w, http.StatusOK, toCustomerJSON(stored))
}

// UpsertResultHeader tells an upsert's caller whether the record was
// inserted, updated, or ignored as stale.
const UpsertResultHeader = "X-Upsert-Result"

// parseTime reads an optional RFC 3339 timestamp; empty means "not given".
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, &commerce.ValidationError{Field: field, Problem: "must be an RFC 3339 timestamp such as 2026-10-01T12:00:00Z"}
	}
	return t.UTC(), nil
}

// parseOptionalTime is parseTime for timestamps that may be absent (null).
func parseOptionalTime(field, s string) (*time.Time, error) {
	t, err := parseTime(field, s)
	if err != nil || t.IsZero() {
		return nil, err
	}
	return &t, nil
}
