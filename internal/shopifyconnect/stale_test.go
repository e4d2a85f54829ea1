package shopifyconnect_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// TestSubscribeInAProcessThatStillThinksTheShopUnconnected: a process
// read, a moment before another process connected the shop to Shopify,
// that the shop has no Shopify (its settings page's status), and keeps
// that answer for the connections' cache TTL. The subscription job the
// connect queued runs in that process within the TTL: the webhooks are
// subscribed, not skipped as if the shop had no Shopify (which only the
// hourly check would have mended).
func TestSubscribeInAProcessThatStillThinksTheShopUnconnected(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		sb := sandbox.New(sandbox.Options{ClientID: appID, ClientSecret: appSecret})
		srv := httptest.NewServer(sb)
		t.Cleanup(srv.Close)
		sb.SetBaseURL(srv.URL)
		// Two processes on one database; neither works the queue: the
		// subscription job's work is done below, in this one.
		here := testapp.New(t, db, testapp.WithShopifyApp(shopifyconnect.App{ClientID: appID, ClientSecret: appSecret}, srv.URL))
		there := testapp.New(t, db, testapp.WithShopifyApp(shopifyconnect.App{ClientID: appID, ClientSecret: appSecret}, srv.URL))
		ctx := context.Background()
		tn := here.NewTenant("acme")
		c := here.Server.ShopifyConnect

		if st, err := c.Status(ctx, tn.Shop.ID); err != nil || st.Connected {
			t.Fatalf("before the connect: %+v %v", st, err)
		}
		token := sb.IssueAccessToken(nil, 0)
		if _, err := there.Server.ShopifyConnect.ConnectCustomApp(ctx, tn.Shop.ID, audit.Actor{Kind: audit.ActorSystem}, shopifyconnect.CustomApp{
			Method: connection.ShopifyAdminToken, AccessToken: token, ClientSecret: "s"}); err != nil {
			t.Fatal(err)
		}
		if st, err := c.Status(ctx, tn.Shop.ID); err != nil || st.Connected {
			t.Fatalf("this process should still hold the shop as unconnected (within %v): %+v %v", connection.CacheTTL, st, err)
		}

		h, err := c.Subscribe(ctx, tn.Shop.ID)
		if err != nil {
			t.Fatal(err)
		}
		if h == nil || !h.Healthy() {
			t.Fatalf("subscriptions' health %+v: the job took the cached answer for the shop having no Shopify", h)
		}
		if n := len(sb.WebhookSubscriptions()); n != len(shopifyconnect.Topics) {
			t.Errorf("%d subscriptions, want %d", n, len(shopifyconnect.Topics))
		}
	})
}
