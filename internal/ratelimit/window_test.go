package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/ratelimit"
)

// TestWindowRefusesPastItsLimit: two windows on one database (two
// processes) share each key's count; a refused event is not counted, and
// the key is free again once its oldest event left the window. Other keys
// are not touched.
func TestWindowRefusesPastItsLimit(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Unix(1_800_000_000, 0)
		clock := func() time.Time { return now }
		a := ratelimit.NewWindow(db, 3, time.Hour, clock)
		b := ratelimit.NewWindow(db, 3, time.Hour, clock)
		for i, w := range []*ratelimit.Window{a, b, a} {
			if ok, _, err := w.Allow(ctx, "k"); err != nil || !ok {
				t.Fatalf("event %d refused (%v)", i+1, err)
			}
			now = now.Add(time.Minute)
		}
		ok, retry, err := b.Allow(ctx, "k")
		if err != nil || ok {
			t.Fatalf("the fourth event within the hour passed (%v)", err)
		}
		if want := 57 * time.Minute; retry < want || retry > want+time.Second {
			t.Errorf("retry after %s, want about %s", retry, want)
		}
		if ok, _, _ := a.Allow(ctx, "other"); !ok {
			t.Error("another key was refused")
		}
		now = now.Add(57*time.Minute + time.Second)
		if ok, _, err := a.Allow(ctx, "k"); err != nil || !ok {
			t.Errorf("the key is still refused once its oldest event left the window (%v)", err)
		}
		if ok, _, _ := a.Allow(ctx, "k"); ok {
			t.Error("a refused event was counted as free room: the window let a fourth through")
		}
	})
}
