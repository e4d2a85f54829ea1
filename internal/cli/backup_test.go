package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/user"
)

// apiCall sends one API request with the bearer token and returns the
// status and body.
func apiCall(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSQLiteBackupWhileServingRestores: `hubdesk backup FILE` copies the
// SQLite database while `serve` answers and tickets keep being written;
// the copy passes SQLite's integrity check, holds no ticket without its
// first message (one moment, not a torn file), and `serve` started on
// the copy (with the data directory's key) answers with the data.
func TestSQLiteBackupWhileServingRestores(t *testing.T) {
	dir := isolate(t)
	if code, _, errOut := run(t, "migrate"); code != 0 {
		t.Fatalf("migrate: %q", errOut)
	}
	if code, _, errOut := run(t, "shop", "create", "--name", "Acme", "--domain", "acme.myshopify.com"); code != 0 {
		t.Fatalf("shop create: %q", errOut)
	}
	if code, _, errOut := run(t, "user", "create", "ann@acme.test", "--shop", "acme.myshopify.com", "--role", "admin"); code != 0 {
		t.Fatalf("user create: %q", errOut)
	}
	token := strings.TrimSpace(tokenFrom(t, dir))
	addr := freeAddr(t)
	srv := start(t, "serve", "--addr", addr, "--metrics-addr", "off")
	srv.waitFor(t, "readiness", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body := fmt.Sprintf(`{"subject":"Parcel %d","customer_email":"shopper%d@example.com","body":"Where is parcel %d?"}`, i, i, i)
			if code, out := apiCall(t, "POST", "http://"+addr+"/api/v1/tickets", token, body); code != http.StatusCreated {
				t.Errorf("create ticket %d: %d %s", i, code, out)
				return
			}
			written.Add(1)
		}
	})
	for written.Load() < 5 {
		time.Sleep(10 * time.Millisecond)
	}
	before := written.Load()
	dest := filepath.Join(t.TempDir(), "hubdesk-backup.db")
	code, out, errOut := run(t, "backup", dest)
	during := written.Load()
	close(stop)
	wg.Wait()
	if code != 0 || !strings.Contains(out, secret.KeyFileName) {
		t.Fatalf("backup: %d %q %q", code, out, errOut)
	}
	if during == before {
		t.Logf("no ticket was written while the copy was made (%d before)", before)
	}
	if info, err := os.Stat(dest); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the copy must be readable by its owner only: %v %v", info.Mode(), err)
	}
	if code, _, errOut := run(t, "backup", dest); code != 1 || !strings.Contains(errOut, "exists") {
		t.Errorf("a backup over an existing file must be refused: %d %q", code, errOut)
	}

	ctx := context.Background()
	cp, err := database.OpenSQLite(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	var tickets, torn int64
	if err := cp.QueryRow(ctx, `SELECT COUNT(*) FROM tickets`).Scan(&tickets); err != nil {
		t.Fatal(err)
	}
	if err := cp.QueryRow(ctx, `SELECT COUNT(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM ticket_messages m WHERE m.shop_id = t.shop_id AND m.ticket_id = t.id)`).Scan(&torn); err != nil {
		t.Fatal(err)
	}
	cp.Close()
	if tickets < before || torn != 0 {
		t.Fatalf("the copy holds %d tickets (%d written before the backup began), %d without their message", tickets, before, torn)
	}

	// Restore: the copy as hubdesk.db of a new data directory, with the key.
	restored := t.TempDir()
	copyFile(t, dest, filepath.Join(restored, "hubdesk.db"))
	copyFile(t, filepath.Join(dir, secret.KeyFileName), filepath.Join(restored, secret.KeyFileName))
	addr2 := freeAddr(t)
	srv2 := start(t, "serve", "--addr", addr2, "--metrics-addr", "off", "--data", restored)
	var list string
	srv2.waitFor(t, "the restored copy's tickets", func() bool {
		var code int
		code, list = apiCall(t, "GET", "http://"+addr2+"/api/v1/tickets?limit=200", token, "")
		return code == http.StatusOK
	})
	if !strings.Contains(list, `"Parcel 0"`) || strings.Count(list, `"subject"`) != int(tickets) {
		t.Fatalf("served from the copy, the tickets are not the %d copied: %s", tickets, list)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresBackupRestoresIntoAFreshDatabase: `hubdesk backup` runs
// pg_dump (pgx's own URL parameters left out, which libpq refuses);
// pg_restore of the dump into an empty database gives hubdesk its data
// back, schema current (migrate applies nothing).
func TestPostgresBackupRestoresIntoAFreshDatabase(t *testing.T) {
	if _, err := exec.LookPath("pg_restore"); err != nil {
		dbtest.RequireOrSkip(t, "pg_dump and pg_restore are not on PATH")
	}
	isolate(t)
	src := dbtest.CreatePostgres(t)
	t.Setenv("HUBDESK_DATABASE_URL", src+"&pool_max_conns=4")
	t.Setenv("HUBDESK_SECRET_KEY", sharedKey)
	if code, _, errOut := run(t, "migrate"); code != 0 {
		t.Fatalf("migrate: %q", errOut)
	}
	if code, _, errOut := run(t, "shop", "create", "--name", "Acme", "--domain", "acme.myshopify.com"); code != 0 {
		t.Fatalf("shop create: %q", errOut)
	}
	if code, _, errOut := run(t, "user", "create", "ann@acme.test", "--shop", "acme.myshopify.com", "--role", "admin", "--password", "correct-horse-battery"); code != 0 {
		t.Fatalf("user create: %q", errOut)
	}
	dest := filepath.Join(t.TempDir(), "hubdesk.dump")
	if code, out, errOut := run(t, "backup", dest); code != 0 || !strings.Contains(out, "pg_restore") {
		t.Fatalf("backup: %d %q %q", code, out, errOut)
	}
	if info, err := os.Stat(dest); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the dump must be readable by its owner only: %v %v", info.Mode(), err)
	}

	fresh := dbtest.CreatePostgres(t)
	if out, err := exec.Command("pg_restore", "--no-owner", "--exit-on-error", "--dbname="+fresh, dest).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v: %s", err, out)
	}
	t.Setenv("HUBDESK_DATABASE_URL", fresh)
	if code, out, errOut := run(t, "migrate"); code != 0 || !strings.Contains(out, "(0 migrations applied)") {
		t.Fatalf("migrate on the restored database: %d %q %q", code, out, errOut)
	}
	db, err := database.OpenPostgres(context.Background(), fresh)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := user.NewStore(db).Authenticate(context.Background(), "ann@acme.test", "correct-horse-battery"); err != nil {
		t.Fatalf("the restored database's user: %v", err)
	}
}

// TestMigrateUpgradesAnOlderDatabase: `hubdesk migrate` brings a database
// an older release left (migrated only so far, with its rows) to the
// current schema, on each engine, and the rows keep working.
func TestMigrateUpgradesAnOlderDatabase(t *testing.T) {
	const older = 29 // before the refunds, the webhook purge index and the orders' version
	ctx := context.Background()
	hash, err := user.HashPassword("correct-horse-battery")
	if err != nil {
		t.Fatal(err)
	}
	seed := func(t *testing.T, db *database.DB) {
		t.Helper()
		if _, err := db.MigrateTo(ctx, older); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO shops (name, domain, created_at) VALUES ('Acme', 'acme.myshopify.com', 1)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO users (shop_id, email, role, password_hash, created_at)
			SELECT id, 'ann@acme.test', 'owner', ?, 1 FROM shops`, hash); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	check := func(t *testing.T, out string, db *database.DB) {
		t.Helper()
		want := fmt.Sprintf("database at version %d (%d migrations applied)", db.LatestVersion(), countMigrationsAfter(t, db, older))
		if !strings.Contains(out, want) {
			t.Errorf("migrate said %q, want %q", out, want)
		}
		if _, err := user.NewStore(db).Authenticate(ctx, "ann@acme.test", "correct-horse-battery"); err != nil {
			t.Errorf("the older database's user after the upgrade: %v", err)
		}
		if _, err := db.Exec(ctx, `SELECT orders_version FROM customers`); err != nil {
			t.Errorf("the upgrade left out a later migration: %v", err)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := isolate(t)
		db, err := database.OpenSQLite(ctx, filepath.Join(dir, "hubdesk.db"))
		if err != nil {
			t.Fatal(err)
		}
		seed(t, db)
		code, out, errOut := run(t, "migrate")
		if code != 0 {
			t.Fatalf("migrate: %q", errOut)
		}
		if db, err = database.OpenSQLite(ctx, filepath.Join(dir, "hubdesk.db")); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		check(t, out, db)
	})
	t.Run("postgres", func(t *testing.T) {
		isolate(t)
		url := dbtest.CreatePostgres(t)
		db, err := database.OpenPostgres(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		seed(t, db)
		t.Setenv("HUBDESK_DATABASE_URL", url)
		t.Setenv("HUBDESK_SECRET_KEY", sharedKey)
		code, out, errOut := run(t, "migrate")
		if code != 0 {
			t.Fatalf("migrate: %q", errOut)
		}
		if db, err = database.OpenPostgres(ctx, url); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		check(t, out, db)
	})
}

// countMigrationsAfter counts the dialect's migration files numbered
// after version.
func countMigrationsAfter(t *testing.T, db *database.DB, version int) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "database", "migrations", string(db.Dialect), "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v", err)
	}
	n := 0
	for _, f := range files {
		var v int
		if _, err := fmt.Sscanf(filepath.Base(f), "%04d_", &v); err == nil && v > version {
			n++
		}
	}
	return n
}
