package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/user"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func isolate(t *testing.T) string {
	dir := t.TempDir()
	for _, k := range []string{"HUBDESK_DATABASE_URL", "HUBDESK_SECRET_KEY", "HUBDESK_SECRET_KEY_FILE", "HUBDESK_ADDR", "HUBDESK_BASE_URL", "HUBDESK_METRICS_ADDR", "HUBDESK_SMTP_ADDR", "HUBDESK_MAIL_DOMAIN"} {
		t.Setenv(k, "")
	}
	t.Setenv("HUBDESK_DATA_DIR", dir)
	return dir
}

func TestUsageErrors(t *testing.T) {
	isolate(t)
	if code, _, errOut := run(t, "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
	if code, out, _ := run(t, "help"); code != 0 || !strings.Contains(out, "serve") || !strings.Contains(out, "HUBDESK_DATABASE_URL") {
		t.Errorf("help: %d %q", code, out)
	}
	if code, out, _ := run(t, "version"); code != 0 || !strings.HasPrefix(out, "hubdesk ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, errOut := run(t, "serve", "--bogus"); code != 2 || errOut == "" {
		t.Errorf("bad flag: %d %q", code, errOut)
	}
}

func TestBadConfigurationIsOneClearLine(t *testing.T) {
	cases := []struct {
		name, env, value string
		code             int
		want             string
	}{
		{"malformed database URL", "HUBDESK_DATABASE_URL", "mysql://root@localhost/db", 2, "must start with postgres://"},
		{"unreachable database", "HUBDESK_DATABASE_URL", unreachablePostgres, 1, "cannot reach"},
		{"corrupt secret key", "HUBDESK_SECRET_KEY", "not-a-key", 1, "secret key"},
		{"bad log level", "HUBDESK_LOG_LEVEL", "loud", 2, "HUBDESK_LOG_LEVEL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			isolate(t)
			if c.env == "HUBDESK_DATABASE_URL" {
				t.Setenv("HUBDESK_SECRET_KEY", sharedKey)
			}
			t.Setenv(c.env, c.value)
			code, _, errOut := run(t, "serve", "--addr", "127.0.0.1:0")
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, c.code, c.want)
			}
			if strings.Contains(errOut, "secretpw") {
				t.Fatalf("stderr leaks the database password: %q", errOut)
			}
			if lines := strings.Count(strings.TrimSpace(lastLine(errOut)), "\n"); lines != 0 {
				t.Fatalf("want one line, got %q", errOut)
			}
		})
	}
}

// sharedKey is the key every test process is given, as hex.
var sharedKey = hex.EncodeToString(fixtures.Key)

const unreachablePostgres = "postgres://nobody:secretpw@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"

// On PostgreSQL several processes share one database, so each must be given
// the same key: none may generate its own into its data directory.
func TestPostgresProcessesRefuseToStartWithoutTheSharedKey(t *testing.T) {
	for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"migrate"}} {
		t.Run(args[0], func(t *testing.T) {
			dir := isolate(t)
			t.Setenv("HUBDESK_DATABASE_URL", unreachablePostgres)
			code, _, errOut := run(t, args...)
			if code != 2 || !strings.Contains(errOut, "HUBDESK_SECRET_KEY") || !strings.Contains(errOut, "every process") {
				t.Fatalf("exit %d, stderr %q; want exit 2 asking for the shared HUBDESK_SECRET_KEY", code, errOut)
			}
			if strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Fatalf("want one line, got %q", errOut)
			}
			if files := listDir(t, dir); len(files) != 0 {
				t.Fatalf("the data directory holds %v, want nothing (no generated key)", files)
			}

			keyFile := filepath.Join(t.TempDir(), "key")
			if err := os.WriteFile(keyFile, []byte(sharedKey), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("HUBDESK_SECRET_KEY_FILE", keyFile)
			if code, _, errOut := run(t, args...); code != 1 || !strings.Contains(errOut, "cannot reach") {
				t.Fatalf("with HUBDESK_SECRET_KEY_FILE: exit %d, stderr %q; want the key accepted and the database tried", code, errOut)
			}
		})
	}
}

// SQLite has one process per data directory, so a key is generated there
// when none is given, as before.
func TestSQLiteGeneratesAKeyIntoTheDataDirectory(t *testing.T) {
	dir := isolate(t)
	if code, _, errOut := run(t, "shop", "create", "--name", "Store", "--domain", "store.myshopify.com"); code != 0 {
		t.Fatalf("shop create: %s", errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, secret.KeyFileName)); err != nil {
		t.Fatalf("no key generated: %v", err)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}

var tokenLine = regexp.MustCompile(`^hd_[A-Za-z0-9_-]{43}\n$`)

func TestShopUserAndTokenCommands(t *testing.T) {
	dir := isolate(t)
	if code, out, errOut := run(t, "migrate"); code != 0 || !strings.Contains(out, "sqlite database at version") {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := run(t, "shop", "list"); code != 0 || !strings.Contains(out, "no shops yet") {
		t.Fatalf("shop list with no shops: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := run(t, "shop", "create", "--name", "Acme", "--domain", "Acme.MyShopify.com", "--client-secret", "shh"); code != 0 || !strings.Contains(out, "acme.myshopify.com") {
		t.Fatalf("shop create: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := run(t, "shop", "create", "--name", "Acme", "--domain", "acme.myshopify.com"); code != 1 || errOut != "hubdesk shop create: a shop with this domain already exists: acme.myshopify.com\n" {
		t.Fatalf("shop create twice: %d %q", code, errOut)
	}
	if code, out, _ := run(t, "shop", "list"); code != 0 || !strings.Contains(out, "acme.myshopify.com\tAcme") {
		t.Fatalf("shop list: %d %q", code, out)
	}
	if code, out, errOut := run(t, "shop", "secret", "--domain", "acme.myshopify.com", "--client-secret", "rotated"); code != 0 || !strings.Contains(out, "replaced") {
		t.Fatalf("shop secret: %d %q %q", code, out, errOut)
	}
	if code, _, _ := run(t, "shop", "secret", "--domain", "acme.myshopify.com"); code != 2 {
		t.Fatalf("shop secret without a secret: %d", code)
	}
	if code, _, errOut := run(t, "user", "create", "ann@acme.test", "--shop", "acme.myshopify.com", "--role", "admin", "--password", "short"); code != 2 || !strings.Contains(errOut, "at least") {
		t.Fatalf("short password: %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "user", "create", "ann@acme.test", "--shop", "nope.myshopify.com", "--role", "admin"); code != 2 || !strings.Contains(errOut, "no shop") {
		t.Fatalf("unknown shop: %d %q", code, errOut)
	}
	code, out, errOut := run(t, "user", "create", "ann@acme.test", "--shop", "acme.myshopify.com", "--role", "admin")
	if code != 0 || !strings.Contains(out, "password: ") {
		t.Fatalf("user create: %d %q %q", code, out, errOut)
	}
	code, out, errOut = run(t, "user", "token", "ann@acme.test", "--data", dir)
	if code != 0 || !tokenLine.MatchString(out) {
		t.Fatalf("user token must print the token alone: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := run(t, "user", "token", "nobody@acme.test"); code != 1 || !strings.Contains(errOut, "no user") {
		t.Fatalf("token for unknown user: %d %q", code, errOut)
	}
	code, out, _ = run(t, "user", "password", "ann@acme.test", "--password", "a-new-password")
	if code != 0 || !strings.Contains(out, "password reset") {
		t.Fatalf("password reset: %d %q", code, out)
	}
	// The token and the new password work against the same database.
	db, err := database.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	users := user.NewStore(db)
	if u, err := users.APITokenUser(context.Background(), strings.TrimSpace(tokenFrom(t, dir))); err != nil || u.Email != "ann@acme.test" {
		t.Fatalf("token user: %v %v", u, err)
	}
	if _, err := users.Authenticate(context.Background(), "ann@acme.test", "a-new-password"); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

func tokenFrom(t *testing.T, dir string) string {
	code, out, errOut := run(t, "user", "token", "ann@acme.test", "--data", dir)
	if code != 0 {
		t.Fatalf("token: %q", errOut)
	}
	return out
}
