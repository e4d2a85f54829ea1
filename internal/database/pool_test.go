package database

import "testing"

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
