package shopifysync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/shopifysync"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

const testToken = "shpat_sync_test"

func testBox(t testing.TB) *secret.Box {
	box, err := secret.NewBox(1, map[int][]byte{1: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// startSandbox serves a Shopify sandbox on loopback.
func startSandbox(t testing.TB, opts sandbox.Options) *sandbox.Sandbox {
	opts.AdminToken = testToken
	if opts.BulkDir == "" {
		opts.BulkDir = t.TempDir()
	}
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	sb.SetBaseURL(srv.URL)
	return sb
}

func adminClient(sbURL string) *shopify.Client {
	return shopify.New(shopify.Options{Shop: sandbox.DefaultShop, BaseURL: sbURL, Tokens: shopify.StaticToken(testToken)})
}

// newSyncer builds the syncer and its job queue over db.
func newSyncer(t testing.TB, db *database.DB, sbURL string, edit func(*shopifysync.Options)) (*shopifysync.Syncer, *jobs.Queue) {
	opts := shopifysync.Options{DB: db, Clients: shopifysync.StaticClients{Client: adminClient(sbURL)},
		Commerce: commerce.NewStore(db), Box: testBox(t), PollInterval: 50 * time.Millisecond, Slice: time.Second,
		LeaseTTL: 5 * time.Second, ResumeInterval: time.Second}
	if edit != nil {
		edit(&opts)
	}
	s := shopifysync.New(opts)
	w := river.NewWorkers()
	s.AddWorkers(w)
	q, err := jobs.New(db, jobs.Options{Workers: w, Periodic: []*river.PeriodicJob{s.Periodic()},
		Queues: map[string]int{shopifysync.RefreshQueue: shopifysync.RefreshWorkers}, FetchCooldown: 20 * time.Millisecond,
		RetryPolicy: fastRetry{}})
	if err != nil {
		t.Fatal(err)
	}
	s.SetQueue(q)
	return s, q
}

type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(200 * time.Millisecond)
}

func newShop(t testing.TB, db *database.DB) int64 {
	sh, err := shop.NewStore(db, testBox(t)).Create(context.Background(), shop.NewShop{Name: "Sandbox", Domain: sandbox.DefaultShop, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	return sh.ID
}

func count(t testing.TB, db *database.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitBackfill(t testing.TB, s *shopifysync.Syncer, shopID int64, status string, within time.Duration) *shopifysync.Backfill {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, err := s.Backfill(context.Background(), shopID)
		if err == nil && b.Status == status {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("backfill never reached %s: %+v %v", status, b, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkAllOrders: every order of the sandbox is stored once, none missing.
func checkAllOrders(t testing.TB, db *database.DB, shopID int64, n int) {
	t.Helper()
	if got := count(t, db, `SELECT COUNT(*) FROM orders WHERE shop_id = ?`, shopID); got != int64(n) {
		t.Errorf("%d orders stored, want %d", got, n)
	}
	if got := count(t, db, `SELECT COUNT(DISTINCT external_id) FROM orders WHERE shop_id = ?`, shopID); got != int64(n) {
		t.Errorf("%d distinct orders, want %d", got, n)
	}
	// Ids are consecutive from the first seeded one: no gaps.
	var lo, hi string
	if err := db.QueryRow(context.Background(), `SELECT MIN(external_id), MAX(external_id) FROM orders WHERE shop_id = ?`, shopID).Scan(&lo, &hi); err != nil {
		t.Fatal(err)
	}
	if lo != "5000000000" || hi != fmt.Sprint(5000000000+n-1) {
		t.Errorf("ids from %s to %s", lo, hi)
	}
	if got := count(t, db, `SELECT COUNT(*) FROM line_items WHERE shop_id = ?`, shopID); got < int64(n) {
		t.Errorf("%d line items for %d orders", got, n)
	}
}

func TestBackfill(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		sb := startSandbox(t, sandbox.Options{Orders: 1200})
		s, q := newSyncer(t, db, sb.AdminURL(), func(o *shopifysync.Options) { o.BatchSize = 100 })
		jobstest.Work(t, q)
		shopID := newShop(t, db)
		if _, err := s.StartBackfill(ctx, shopID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartBackfill(ctx, shopID); err != shopifysync.ErrBackfillRunning {
			t.Errorf("second start: %v", err)
		}
		b := waitBackfill(t, s, shopID, shopifysync.StatusCompleted, 5*time.Minute)
		if b.RowsDone != 1200 || b.RowsTotal != 1200 || b.ErrorCount != 0 || b.Percent() != 100 || b.ByteOffset != b.FileSize {
			t.Errorf("backfill = %+v", b)
		}
		checkAllOrders(t, db, shopID, 1200)
		// The statistics were refreshed on the way: they count the orders
		// imported, not the empty table (PostgreSQL kept a sequential scan
		// as the plan of each order's look-up, and the import slowed as the
		// table grew).
		statistics := `SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE relname = 'orders'`
		if db.Dialect == database.SQLite {
			statistics = `SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 WHERE tbl = 'orders' LIMIT 1`
		}
		if got := count(t, db, statistics); got < 1000 {
			t.Errorf("the statistics count %d orders after the backfill", got)
		}
		// Delivered shipments and their dates arrived.
		if got := count(t, db, `SELECT COUNT(*) FROM fulfillments WHERE shop_id = ? AND shipment_status = 'delivered' AND delivered_at IS NOT NULL`, shopID); got == 0 {
			t.Error("no delivered shipment stored")
		}
		// The result URL is sealed at rest.
		var url string
		if err := db.QueryRow(ctx, `SELECT result_url FROM shopify_backfills WHERE shop_id = ?`, shopID).Scan(&url); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(url, "http") || !strings.HasPrefix(url, "hdsec:") {
			t.Errorf("result URL stored as %q", url)
		}
		// A change made since, and a second backfill: a newer copy wins,
		// nothing is doubled.
		if _, err := sb.Fulfill("5000001199", "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartBackfill(ctx, shopID); err != nil {
			t.Fatal(err)
		}
		waitBackfill(t, s, shopID, shopifysync.StatusCompleted, 5*time.Minute)
		checkAllOrders(t, db, shopID, 1200)
		if got := count(t, db, `SELECT COUNT(*) FROM fulfillments f JOIN orders o ON o.id = f.order_id WHERE o.shop_id = ? AND o.external_id = '5000001199'`, shopID); got != 1 {
			t.Errorf("the new shipment: %d rows", got)
		}
	})
}

// The customer refresh: stale stored orders are read again in the
// background; a fresh customer is not asked about twice.
func TestFreshenCustomer(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		olivia := sandbox.Customer{ID: "7000000100", Email: "olivia@example.com", FirstName: "Olivia", LastName: "Johnson"}
		sb := startSandbox(t, sandbox.Options{Orders: 40, GeneratedCustomers: 3, Customers: []sandbox.Customer{olivia}})
		s, q := newSyncer(t, db, sb.AdminURL(), nil)
		jobstest.Work(t, q)
		shopID := newShop(t, db)
		cs := commerce.NewStore(db)
		c, _, err := cs.UpsertCustomer(ctx, shopID, commerce.Customer{ExternalID: olivia.ID, Email: olivia.Email, UpdatedAt: time.Unix(1, 0)})
		if err != nil {
			t.Fatal(err)
		}
		asked, err := s.Freshen(ctx, shopID, c.ID)
		if err != nil || !asked {
			t.Fatalf("freshen: %v %v", asked, err)
		}
		want := len(sb.CustomerOrderIDs(olivia.ID))
		jobstest.Eventually(t, "her orders stored", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM orders WHERE shop_id = ? AND customer_id = ?`, shopID, c.ID) == int64(want)
		})
		got, err := cs.Customer(ctx, shopID, c.ID)
		if err != nil || got.FirstName != "Olivia" {
			t.Errorf("customer: %+v %v", got, err)
		}
		if asked, err := s.Freshen(ctx, shopID, c.ID); err != nil || asked {
			t.Errorf("fresh customer asked again: %v %v", asked, err)
		}
		// A customer hubdesk made from a mail sender is not Shopify's.
		mc, _, err := cs.CustomerForEmail(ctx, shopID, "stranger@example.com", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.RefreshCustomer(ctx, shopID, mc.ID); err != nil || n != 0 {
			t.Errorf("mail customer: %d %v", n, err)
		}
	})
}

// kill -9 half-way through a backfill of 10,000 orders, restart: it
// completes with every order stored once. The worker runs in a child
// process (this test binary, TestBackfillHelperProcess); the sandbox and
// the database outlive it.
func TestBackfillSurvivesKill(t *testing.T) {
	const n = 10000
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			var db *database.DB
			var dsn string
			switch d {
			case database.SQLite:
				dsn = filepath.Join(t.TempDir(), "hubdesk.db")
				var err error
				if db, err = database.OpenSQLite(ctx, dsn); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if _, err := db.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				if err := jobs.Migrate(ctx, db); err != nil {
					t.Fatal(err)
				}
			default:
				db, dsn = dbtest.OpenPostgresWithURL(t)
			}
			sb := startSandbox(t, sandbox.Options{Orders: n})
			s, _ := newSyncer(t, db, sb.AdminURL(), nil) // inserts only: the child works
			shopID := newShop(t, db)
			if _, err := s.StartBackfill(ctx, shopID); err != nil {
				t.Fatal(err)
			}
			started := time.Now()
			child := startHelper(t, d, dsn, sb.AdminURL())
			deadline := time.Now().Add(5 * time.Minute)
			for {
				b, err := s.Backfill(ctx, shopID)
				if err != nil {
					t.Fatal(err)
				}
				if b.RowsDone >= n/2 {
					break
				}
				if b.Status == shopifysync.StatusCompleted || time.Now().After(deadline) {
					t.Fatalf("never half-way: %+v", b)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := child.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = child.Wait()
			b, _ := s.Backfill(ctx, shopID)
			t.Logf("killed at %d of %d rows (offset %d of %d bytes) after %v", b.RowsDone, n, b.ByteOffset, b.FileSize, time.Since(started).Round(time.Millisecond))
			if b.Status != shopifysync.StatusImporting || b.RowsDone >= n {
				t.Fatalf("not killed mid-way: %+v", b)
			}
			if got := count(t, db, `SELECT COUNT(*) FROM orders WHERE shop_id = ?`, shopID); got != b.RowsDone {
				t.Errorf("%d orders stored, progress says %d", got, b.RowsDone)
			}
			startHelper(t, d, dsn, sb.AdminURL())
			b = waitBackfill(t, s, shopID, shopifysync.StatusCompleted, 5*time.Minute)
			t.Logf("completed after %v: %+v", time.Since(started).Round(time.Millisecond), b)
			if b.RowsDone != n || b.ErrorCount != 0 {
				t.Errorf("backfill = %+v", b)
			}
			checkAllOrders(t, db, shopID, n)
		})
	}
}

// startHelper runs the backfill worker in a child process until the test
// ends or kills it.
func startHelper(t *testing.T, d database.Dialect, dsn, sbURL string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBackfillHelperProcess$")
	cmd.Env = append(os.Environ(), "SHOPIFYSYNC_HELPER=1", "SHOPIFYSYNC_DIALECT="+string(d), "SHOPIFYSYNC_DSN="+dsn, "SHOPIFYSYNC_SANDBOX="+sbURL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("helper output:\n%s", out.String())
		}
	})
	return cmd
}

// TestBackfillHelperProcess is the child of TestBackfillSurvivesKill: a
// process that works the backfill jobs until it is killed.
func TestBackfillHelperProcess(t *testing.T) {
	if os.Getenv("SHOPIFYSYNC_HELPER") != "1" {
		t.Skip("a helper process, run by TestBackfillSurvivesKill")
	}
	ctx := context.Background()
	var db *database.DB
	var err error
	if os.Getenv("SHOPIFYSYNC_DIALECT") == string(database.SQLite) {
		db, err = database.OpenSQLite(ctx, os.Getenv("SHOPIFYSYNC_DSN"))
	} else {
		db, err = database.OpenPostgres(ctx, os.Getenv("SHOPIFYSYNC_DSN"))
	}
	if err != nil {
		t.Fatal(err)
	}
	_, q := newSyncer(t, db, os.Getenv("SHOPIFYSYNC_SANDBOX"), nil)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-stop:
	case <-time.After(10 * time.Minute):
	}
}

// TestBackfillLoad measures a backfill of HUBDESK_BACKFILL_ORDERS orders
// (default 100,000) in a child process: wall time, rows/s and the child's
// peak RSS. Run with HUBDESK_LOAD=1 (and HUBDESK_LOAD_DIALECT=postgres for
// PostgreSQL).
func TestBackfillLoad(t *testing.T) {
	if os.Getenv("HUBDESK_LOAD") != "1" {
		t.Skip("a measurement: HUBDESK_LOAD=1")
	}
	n := 100000
	if v := os.Getenv("HUBDESK_BACKFILL_ORDERS"); v != "" {
		fmt.Sscan(v, &n)
	}
	ctx := context.Background()
	d := database.Dialect(os.Getenv("HUBDESK_LOAD_DIALECT"))
	var db *database.DB
	var dsn string
	if d == database.Postgres {
		db, dsn = dbtest.OpenPostgresWithURL(t)
	} else {
		d = database.SQLite
		dsn = filepath.Join(t.TempDir(), "hubdesk.db")
		var err error
		if db, err = database.OpenSQLite(ctx, dsn); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	sb := startSandbox(t, sandbox.Options{Orders: n})
	s, _ := newSyncer(t, db, sb.AdminURL(), nil)
	shopID := newShop(t, db)
	started := time.Now()
	if _, err := s.StartBackfill(ctx, shopID); err != nil {
		t.Fatal(err)
	}
	child := startHelper(t, d, dsn, sb.AdminURL())
	b := waitBackfill(t, s, shopID, shopifysync.StatusCompleted, time.Hour)
	wall := time.Since(started)
	_ = child.Process.Signal(syscall.SIGTERM)
	_ = child.Wait()
	var rss int64
	if ru, ok := child.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss // KiB on Linux
	}
	imported := b.FinishedAt.Sub(*b.ImportStartedAt)
	t.Logf("%s: %d orders (%d bytes of JSONL) in %v wall (bulk operation %v, import %v): %.0f rows/s overall, %.0f rows/s importing; worker peak RSS %d MiB; errors %d",
		d, b.RowsDone, b.FileSize, wall.Round(time.Millisecond), b.ImportStartedAt.Sub(b.StartedAt).Round(time.Millisecond),
		imported.Round(time.Millisecond), float64(b.RowsDone)/wall.Seconds(), float64(b.RowsDone)/imported.Seconds(), rss/1024, b.ErrorCount)
	checkAllOrders(t, db, shopID, n)
}

// The bulk_operations/finish webhook nudges the wait: the import starts
// at once instead of at the next poll.
func TestBackfillNudgedByFinish(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		var s *shopifysync.Syncer
		var shopID int64
		sb := startSandbox(t, sandbox.Options{Orders: 200, BulkDelay: 500 * time.Millisecond, OnChange: func(topic string, _ []byte) {
			if topic == "bulk_operations/finish" {
				s.Nudge(shopID)
			}
		}})
		var q *jobs.Queue
		s, q = newSyncer(t, db, sb.AdminURL(), func(o *shopifysync.Options) { o.PollInterval = time.Minute; o.Slice = 2 * time.Minute })
		jobstest.Work(t, q)
		shopID = newShop(t, db)
		started := time.Now()
		if _, err := s.StartBackfill(ctx, shopID); err != nil {
			t.Fatal(err)
		}
		waitBackfill(t, s, shopID, shopifysync.StatusCompleted, 50*time.Second)
		if el := time.Since(started); el > 45*time.Second {
			t.Errorf("took %v: the nudge did not wake the wait", el)
		}
		checkAllOrders(t, db, shopID, 200)
	})
}

// A token Shopify refuses fails the backfill with the reason, instead of
// retrying for ever.
func TestBackfillFailsOnRefusedToken(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		sb := startSandbox(t, sandbox.Options{Orders: 10})
		bad := shopify.New(shopify.Options{Shop: sandbox.DefaultShop, BaseURL: sb.AdminURL(), Tokens: shopify.StaticToken("shpat_revoked")})
		s, q := newSyncer(t, db, sb.AdminURL(), func(o *shopifysync.Options) { o.Clients = shopifysync.StaticClients{Client: bad} })
		jobstest.Work(t, q)
		shopID := newShop(t, db)
		if _, err := s.StartBackfill(ctx, shopID); err != nil {
			t.Fatal(err)
		}
		b := waitBackfill(t, s, shopID, shopifysync.StatusFailed, 30*time.Second)
		if !strings.Contains(b.LastError, "unauthorized") || b.ErrorCount != 1 || b.FinishedAt == nil {
			t.Errorf("backfill = %+v", b)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM orders WHERE shop_id = ?`, shopID); got != 0 {
			t.Errorf("%d orders", got)
		}
	})
}

// Opening a ticket asks for its customer's Shopify orders in the
// background: they arrive without anyone starting a backfill.
func TestTicketOpenRefreshesCustomer(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		olivia := sandbox.Customer{ID: "7000000100", Email: "olivia@example.com", FirstName: "Olivia", LastName: "Johnson"}
		sb := startSandbox(t, sandbox.Options{Orders: 30, GeneratedCustomers: 2, Customers: []sandbox.Customer{olivia}})
		app := testapp.New(t, db, testapp.WithShopifyClients(shopifysync.StaticClients{Client: adminClient(sb.AdminURL())}))
		jobstest.Work(t, app.Server.Jobs)
		tn := app.NewTenant("a")
		c, _, err := app.Server.Commerce.UpsertCustomer(ctx, tn.Shop.ID, commerce.Customer{ExternalID: olivia.ID, Email: olivia.Email, UpdatedAt: time.Unix(1, 0)})
		if err != nil {
			t.Fatal(err)
		}
		st, body, _ := app.Do(nil, "POST", "/api/v1/tickets", app.Token(tn.Agent), `{"subject":"Where is my parcel?","customer_email":"olivia@example.com","body":"Hi"}`)
		if st != 201 {
			t.Fatalf("create ticket: %d %s", st, body)
		}
		var tk struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &tk); err != nil {
			t.Fatal(err)
		}
		if st, _, _ := app.Do(app.LoginAs(tn.Agent), "GET", fmt.Sprintf("/tickets/%d", tk.ID), "", ""); st != 200 {
			t.Fatalf("open ticket: %d", st)
		}
		want := int64(len(sb.CustomerOrderIDs(olivia.ID)))
		jobstest.Eventually(t, "her Shopify orders stored", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM orders WHERE shop_id = ? AND customer_id = ?`, tn.Shop.ID, c.ID) == want
		})
	})
}

// A backfill against a shop whose cost bucket is small and which answers
// some requests HTTP 429: the client waits for the bucket at its restore
// rate and for each Retry-After, and the backfill completes, every order
// stored once.
func TestBackfillUnderThrottling(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		sb := startSandbox(t, sandbox.Options{Orders: 300, CostBucket: 12, CostRestoreRate: 4})
		s, q := newSyncer(t, db, sb.AdminURL(), func(o *shopifysync.Options) { o.BatchSize = 100 })
		jobstest.Work(t, q)
		shopID := newShop(t, db)
		sb.DrainCostBucket() // the first query finds the bucket empty
		sb.TooManyRequests(3, "0.2")
		if _, err := s.StartBackfill(ctx, shopID); err != nil {
			t.Fatal(err)
		}
		b := waitBackfill(t, s, shopID, shopifysync.StatusCompleted, 5*time.Minute)
		if b.RowsDone != 300 || b.ErrorCount != 0 {
			t.Errorf("backfill = %+v", b)
		}
		checkAllOrders(t, db, shopID, 300)
		_, throttled := sb.AdminStats()
		if throttled == 0 || sb.Rejected() != 3 {
			t.Errorf("the shop throttled %d queries and refused %d requests; the test wants both", throttled, sb.Rejected())
		}
		t.Logf("%d queries throttled, %d requests refused 429", throttled, sb.Rejected())
	})
}
