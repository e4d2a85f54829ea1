package desk

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/user"
	"github.com/hubdesk/hubdesk/internal/web"
)

// TestLayoutMatchesTheTemplate holds the layout written in Go to the
// "layout" template, byte for byte, with hostile values in every place.
func TestLayoutMatchesTheTemplate(t *testing.T) {
	d, err := New(Desk{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	nav := []navItem{{Path: "/customers", LabelKey: "nav.customers"}, {Path: "/tickets", LabelKey: "nav.tickets", Current: true}, {Path: "/settings", LabelKey: "nav.settings"}}
	views := []view{
		{Title: hostile, Data: struct{ Message string }{hostile}},
		{Title: "Tickets", User: &user.User{ID: 1, Email: hostile, Role: user.RoleAgent}, Shop: &shop.Shop{Name: hostile}, Nav: nav, Data: struct{ Message string }{"x"}},
		{Title: hostile, User: &user.User{ID: 2, Email: "a@example.com", Name: hostile, Role: user.RoleOwner}, Shop: &shop.Shop{}, Notifications: 1, Data: struct{ Message string }{hostile}},
		{Title: "", User: &user.User{ID: 3, Email: "b@example.com", Role: user.Role(hostile)}, Shop: &shop.Shop{Name: "Shop"}, Nav: nav[:1], Notifications: 12_345, Data: struct{ Message string }{""}},
	}
	for i, v := range views {
		want := httptest.NewRecorder()
		d.render.Render(want, http.StatusOK, "error", v)
		got := httptest.NewRecorder()
		d.render.RenderBetween(got, http.StatusOK, "error", v, layoutHead(staffLocale, web.DefaultAssets, &v), layoutTail(staffLocale, web.DefaultAssets, v.User != nil))
		if want.Code != http.StatusOK || got.Code != http.StatusOK {
			t.Fatalf("view %d: status %d and %d", i, want.Code, got.Code)
		}
		if g, w := got.Body.String(), want.Body.String(); normalize(g) != normalize(w) {
			t.Errorf("view %d: the layout differs from the template:\n got: %s\nwant: %s", i, normalize(g), normalize(w))
		}
	}
}
