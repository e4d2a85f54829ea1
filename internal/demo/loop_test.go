package demo

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
)

// The demo's Loop knows each order by its Shopify id, as a real Loop
// account does, and every return it seeds is attached in hubdesk to the
// order with that id.
func TestDemoReturnsCarryTheOrdersPlatformID(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Now()
		seeded, err := Seed(ctx, testStores(t, db), demoURL, now)
		if err != nil {
			t.Fatal(err)
		}
		sb := sandbox.New(sandbox.Options{NoSeed: true})
		t.Cleanup(sb.Close)
		loopSrv := httptest.NewServer(sb)
		t.Cleanup(loopSrv.Close)
		sb.SetBaseURL(loopSrv.URL)
		records := returns.NewRecords(db)
		log := audit.New(db)
		editor := settings.New(db, returns.NewStore(db), connection.NewStore(db, fixtures.Box(t)), log,
			settings.LoopKeyChecker{Client: loop.New(loop.Options{BaseURL: loopSrv.URL + "/api/v1"})})
		err = ConnectLoop(ctx, sb, LoopStores{Settings: editor, Records: records}, seeded, now)
		if err != nil {
			t.Fatal(err)
		}

		byExternalID := map[string]*commerce.Order{}
		for _, o := range seeded.Orders {
			byExternalID[o.ExternalID] = o
		}
		seededReturns := sb.Returns("")
		if len(seededReturns) == 0 {
			t.Fatal("the demo seeded no returns")
		}
		stored, err := records.ForOrders(ctx, seeded.Shop.ID, returns.OrderIDs(seeded.Orders))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range seededReturns {
			o := byExternalID[strconv.FormatInt(r.ProviderOrderID, 10)]
			if o == nil || o.Name != r.OrderName {
				t.Errorf("Loop return %d names store order %d (%s), which the demo does not have", r.ID, r.ProviderOrderID, r.OrderName)
				continue
			}
			if got := stored[o.ID]; len(got) != 1 || got[0].ExternalID != strconv.FormatInt(r.ID, 10) {
				t.Errorf("order %s: stored returns %+v, want Loop's %d", o.Name, got, r.ID)
			}
		}
	})
}
