package testapp

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// UseLoop makes Loop the tenant's published returns provider, with the
// sandbox's full key and its portal as the fallback, looked up by postal
// code.
func (a *App) UseLoop(tn *Tenant, sandboxURL string, edit ...func(*returns.Config)) {
	a.T.Helper()
	ctx := context.Background()
	cfg := returns.DefaultConfig()
	cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: sandbox.KeyFull,
		LoopPortalURL: sandboxURL + "/portal/", LookupField: returns.LookupZip}
	for _, e := range edit {
		e(&cfg)
	}
	actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
	if _, err := a.Server.Settings.Save(ctx, tn.Shop.ID, cfg, actor); err != nil {
		a.T.Fatal(err)
	}
	if err := a.Server.Settings.SetLive(ctx, tn.Shop.ID, true, actor); err != nil {
		a.T.Fatal(err)
	}
}

// LoopOrder is an order known to both hubdesk and the Loop sandbox, with
// at most one return, for the returns section and eligibility tests.
type LoopOrder struct {
	Name     string
	Customer *commerce.Customer
	// DeliveredAgo is how long ago the order arrived; negative: not
	// delivered yet.
	DeliveredAgo time.Duration
	// LoopWindowDays is Loop's own return window (the sandbox's policy);
	// 30 when 0.
	LoopWindowDays int
	// Items is how many line items the order has (1 when 0).
	Items int
	// Return is the state of the order's return; "" for none.
	Return returns.ReturnState
	// ReturnItems are the indexes of the items the return holds (all when
	// nil).
	ReturnItems []int
	// Carrier, Tracking and Label describe the return's label; empty
	// for none yet.
	Carrier, Tracking, Label string
}

// SeedLoopOrder stores o in hubdesk (through ingest, as a platform would
// send it) and in the sandbox, and its return in both: in hubdesk the way
// Loop reported it, label and status links included.
func (a *App) SeedLoopOrder(tn *Tenant, sb *sandbox.Sandbox, o LoopOrder) *commerce.Order {
	a.T.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	ext := "70" + strings.TrimPrefix(o.Name, "#")
	created := now.Add(-90 * 24 * time.Hour)
	if o.DeliveredAgo >= 0 {
		created = now.Add(-o.DeliveredAgo - 4*24*time.Hour)
	}
	c := o.Customer
	if c == nil {
		c = &commerce.Customer{ExternalID: "c-" + ext, Email: "shopper" + ext + "@example.com", FirstName: "Ada", LastName: "Lovelace", UpdatedAt: now}
	}
	order := commerce.Order{ExternalID: ext, Name: o.Name, Email: c.Email, FinancialStatus: "paid", Currency: "USD",
		TotalMinor: 5600, CreatedAt: created, UpdatedAt: created,
		ShippingAddress: commerce.Address{Name: c.FirstName + " " + c.LastName, Address1: "Main St 1", City: "Boston", Zip: "02139", CountryCode: "US"}}
	items := max(o.Items, 1)
	var sbItems []sandbox.Item
	for i := range items {
		id := ext + strconv.Itoa(i+1)
		order.LineItems = append(order.LineItems, commerce.LineItem{ExternalID: id, VariantID: "1", VariantAvailable: true,
			Title: "Classic Tee " + strconv.Itoa(i+1), Quantity: 1, CurrentQuantity: 1, PriceMinor: 2800})
		n, _ := strconv.ParseInt(id, 10, 64)
		sbItems = append(sbItems, sandbox.Item{ID: n, Title: "Classic Tee " + strconv.Itoa(i+1), SKU: "TEE-" + strconv.Itoa(i+1), Price: "28.00"})
	}
	providerID, _ := strconv.ParseInt(ext, 10, 64)
	spec := sandbox.Order{Name: o.Name, Email: c.Email, Zip: "02139", FirstName: c.FirstName, LastName: c.LastName,
		CreatedAt: created, ReturnWindowDays: o.LoopWindowDays, Items: sbItems, ProviderOrderID: providerID}
	if o.DeliveredAgo >= 0 {
		shipped := created.Add(24 * time.Hour)
		delivered := now.Add(-o.DeliveredAgo)
		order.FulfillmentStatus = "fulfilled"
		order.Fulfillments = []commerce.Fulfillment{{ExternalID: ext + "-f", Status: "success", ShipmentStatus: "delivered",
			Carrier: "UPS", TrackingNumber: "1Z" + ext, CreatedAt: shipped, UpdatedAt: delivered, InTransitAt: &shipped, DeliveredAt: &delivered}}
		spec.DeliveredAt = delivered
	}
	sb.AddOrder(spec)
	stored := a.Ingest(tn.Shop.ID, order, c)
	if o.Return == "" {
		return stored
	}
	info, err := sb.SeedReturn(sandbox.ReturnSpec{OrderName: o.Name, State: loop.State(o.Return), Items: o.ReturnItems,
		Carrier: o.Carrier, TrackingNumber: o.Tracking, LabelStatus: o.Label, CreatedAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-time.Hour)})
	if err != nil {
		a.T.Fatal(err)
	}
	id := strconv.FormatInt(info.ID, 10)
	r := returns.Return{Provider: returns.ProviderLoop, ExternalID: id, OrderName: o.Name, OrderExternalID: ext,
		State: o.Return, Outcome: "refund", Carrier: o.Carrier, TrackingNumber: "N/A", LabelStatus: "N/A",
		StatusPageURL: sb.BaseURL() + "/portal/return/" + id, CreatedAt: info.CreatedAt, UpdatedAt: info.UpdatedAt}
	if o.Tracking != "" {
		r.TrackingNumber, r.LabelStatus, r.LabelURL = o.Tracking, o.Label, sb.BaseURL()+"/portal/return/"+id+"/label.pdf"
	}
	if _, err := a.Server.Returns.Upsert(context.Background(), tn.Shop.ID, r); err != nil {
		a.T.Fatal(err)
	}
	return stored
}
