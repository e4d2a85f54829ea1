package demo

import (
	"testing"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/ingest"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/user"
)

// demoURL is the base URL the tests seed the demo for.
const demoURL = "http://127.0.0.1:8080"

// testStores are the stores seeding writes to over db, wired as the
// server wires them.
func testStores(t *testing.T, db *database.DB) Stores {
	t.Helper()
	orders := commerce.NewStore(db)
	return Stores{Shops: shop.NewStore(db, fixtures.Box(t)), Users: user.NewStore(db), Commerce: orders,
		Orders: ingest.New(db, orders, returns.NewRecords(db))}
}
