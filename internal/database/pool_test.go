package database

import (
	"context"
	"os"
	"testing"
)

// The PostgreSQL pool's size: a few connections per core unless the URL's
// pool_max_conns says otherwise; the parameter never reaches the server.
func TestPoolSize(t *testing.T) {
	url, n, err := poolSize("postgres://u@h:5432/db?sslmode=disable&pool_max_conns=12")
	if err != nil || n != 12 || url != "postgres://u@h:5432/db?sslmode=disable" {
		t.Errorf("with pool_max_conns: %q, %d, %v", url, n, err)
	}
	url, n, err = poolSize("postgres://u@h:5432/db?sslmode=disable")
	if err != nil || n < 4 || url != "postgres://u@h:5432/db?sslmode=disable" {
		t.Errorf("default: %q, %d, %v", url, n, err)
	}
	if _, _, err := poolSize("postgres://u@h/db?pool_max_conns=0"); err == nil {
		t.Error("pool_max_conns=0 was taken")
	}
}

// WarmPool opens the PostgreSQL pool's connections, idle and ready for
// the first requests.
func TestWarmPool(t *testing.T) {
	url := os.Getenv("HUBDESK_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("HUBDESK_TEST_POSTGRES_URL is not set")
		}
		t.Skip("HUBDESK_TEST_POSTGRES_URL is not set")
	}
	db, err := OpenPostgres(context.Background(), url+"&pool_max_conns=5")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.WarmPool(context.Background())
	if stats := db.read.Stats(); stats.OpenConnections != 5 || stats.Idle != 5 {
		t.Errorf("after opening: %d connections open, %d idle; want 5 and 5", stats.OpenConnections, stats.Idle)
	}
}
