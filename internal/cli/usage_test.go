package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// noFiles fails the test when dir holds anything.
func noFiles(t *testing.T, dir, what string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s created %s", what, filepath.Join(dir, e.Name()))
	}
}

// inEmptyDir runs the test in a fresh working directory, with the data
// directory left to its default (the working directory), and returns it.
func inEmptyDir(t *testing.T) string {
	isolate(t)
	os.Unsetenv("HUBDESK_DATA_DIR")
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

func TestHelpPrintsTheCommandsUsageAndTouchesNothing(t *testing.T) {
	dir := inEmptyDir(t)
	cases := []struct {
		args  []string
		usage string
	}{
		{[]string{"-h"}, "Usage: hubdesk COMMAND"},
		{[]string{"--help"}, "Usage: hubdesk COMMAND"},
		{[]string{"help"}, "Usage: hubdesk COMMAND"},
		{[]string{"help", "shop"}, "Usage: hubdesk shop COMMAND"},
		{[]string{"serve", "-h"}, "Usage: hubdesk serve"},
		{[]string{"serve", "--help"}, "Usage: hubdesk serve"},
		{[]string{"demo", "-h"}, "Usage: hubdesk demo"},
		{[]string{"migrate", "-h"}, "Usage: hubdesk migrate"},
		{[]string{"backup", "-h"}, "Usage: hubdesk backup"},
		{[]string{"shop", "-h"}, "Usage: hubdesk shop COMMAND"},
		{[]string{"shop", "--help"}, "Usage: hubdesk shop COMMAND"},
		{[]string{"shop", "create", "-h"}, "Usage: hubdesk shop create"},
		{[]string{"shop", "list", "--help"}, "Usage: hubdesk shop list"},
		{[]string{"shop", "secret", "-h"}, "Usage: hubdesk shop secret"},
		{[]string{"user", "-h"}, "Usage: hubdesk user COMMAND"},
		{[]string{"user", "create", "-h"}, "Usage: hubdesk user create"},
		{[]string{"user", "create", "ann@acme.test", "--help"}, "Usage: hubdesk user create"},
		{[]string{"user", "password", "-h"}, "Usage: hubdesk user password"},
		{[]string{"user", "token", "--help"}, "Usage: hubdesk user token"},
		{[]string{"sandbox", "-h"}, "Usage: hubdesk sandbox COMMAND"},
		{[]string{"sandbox", "loop", "-h"}, "Usage: hubdesk sandbox loop"},
		{[]string{"sandbox", "shopify", "--help"}, "Usage: hubdesk sandbox shopify"},
		{[]string{"version", "-h"}, "Usage: hubdesk version"},
	}
	for _, c := range cases {
		code, out, errOut := run(t, c.args...)
		if code != 0 || !strings.HasPrefix(out, c.usage) && !strings.Contains(out, "\n\n"+c.usage) || errOut != "" {
			t.Errorf("hubdesk %s: exit %d, stdout %q, stderr %q; want exit 0 and %q", strings.Join(c.args, " "), code, out, errOut, c.usage)
		}
	}
	noFiles(t, dir, "help")
}

func TestBareHubdeskPrintsUsageAsAnError(t *testing.T) {
	dir := inEmptyDir(t)
	code, out, errOut := run(t)
	if code != 2 || out != "" || !strings.Contains(errOut, "Usage: hubdesk COMMAND") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and the usage on stderr", code, out, errOut)
	}
	noFiles(t, dir, "bare hubdesk")
}

func TestVersionFlag(t *testing.T) {
	inEmptyDir(t)
	for _, arg := range []string{"--version", "-version", "version"} {
		if code, out, errOut := run(t, arg); code != 0 || !strings.HasPrefix(out, "hubdesk ") || errOut != "" {
			t.Errorf("%s: %d %q %q", arg, code, out, errOut)
		}
	}
}

func TestUsageListsEveryVariableAndTheFileTwins(t *testing.T) {
	inEmptyDir(t)
	_, out, _ := run(t, "--help")
	for _, want := range []string{"HUBDESK_DATABASE_URL_FILE", "HUBDESK_SECRET_KEY_FILE", "NAME_FILE", "HUBDESK_METRICS_ADDR", "--version"} {
		if !strings.Contains(out, want) {
			t.Errorf("usage lacks %s:\n%s", want, out)
		}
	}
}

// doubledPrefix catches an error line that names its source twice, such
// as "hubdesk shop create: shop: …" or "hubdesk: hubdesk: …".
var doubledPrefix = regexp.MustCompile(`^hubdesk[a-z ]*: (hubdesk|shop|user|demo|serve|cli)\b[a-z ]*:`)

func TestMistakesAreOneLineNamingWhatIsWrong(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "hubdesk: unknown command"},
		{[]string{"serve", "--bogus"}, "hubdesk serve: flag provided but not defined: -bogus"},
		{[]string{"migrate", "extra"}, `hubdesk migrate: unexpected argument "extra"`},
		{[]string{"shop"}, "hubdesk shop: want one of: create, list, secret"},
		{[]string{"shop", "frobnicate"}, `hubdesk shop: unknown command "frobnicate"`},
		{[]string{"shop", "create", "--domain", "acme.myshopify.com"}, "hubdesk shop create: --name is required"},
		{[]string{"shop", "create", "--name", "Acme"}, "hubdesk shop create: --domain is required"},
		{[]string{"shop", "create", "--name", "Acme", "--domain", "https://acme.myshopify.com/"}, "hubdesk shop create: --domain: invalid shop domain"},
		{[]string{"shop", "create", "--name", "Acme", "--domain", "acme.myshopify.com:443"}, "without a port"},
		{[]string{"shop", "create", "--name", "Acme", "--domain", "acme..myshopify.com"}, "empty label"},
		{[]string{"shop", "create", "--name", "Acme", "--domain", "acme shop.myshopify.com"}, "no spaces"},
		{[]string{"shop", "secret", "--client-secret", "s"}, "hubdesk shop secret: --domain is required"},
		{[]string{"shop", "list", "extra"}, `hubdesk shop list: unexpected argument "extra"`},
		{[]string{"user"}, "hubdesk user: want one of: create, password, token"},
		{[]string{"user", "create", "ann@acme.test"}, "hubdesk user create: --shop is required"},
		{[]string{"user", "create", "ann@acme.test", "--shop", "acme.myshopify.com", "--role", "boss"}, "hubdesk user create: --role: unknown role"},
		{[]string{"user", "token"}, "hubdesk user token: an EMAIL is required"},
		{[]string{"user", "token", "ann@acme.test", "bob@acme.test"}, `unexpected argument "bob@acme.test"`},
		{[]string{"demo", "--addr", "0.0.0.0:8080"}, "hubdesk demo: --addr 0.0.0.0:8080 can be reached from other machines"},
		{[]string{"demo", "--addr", ":8080"}, "add --public"},
		{[]string{"demo", "--addr", "8080"}, `hubdesk demo: --addr "8080": want host:port`},
		{[]string{"demo", "--clock", "yesterday"}, `hubdesk demo: --clock "yesterday": want an RFC 3339 time`},
		{[]string{"backup"}, "hubdesk backup: want the backup's file name"},
		{[]string{"sandbox", "stripe"}, `hubdesk sandbox: unknown command "stripe"`},
	}
	for _, c := range cases {
		dir := inEmptyDir(t)
		code, out, errOut := run(t, c.args...)
		what := "hubdesk " + strings.Join(c.args, " ")
		if code != 2 || out != "" || !strings.HasPrefix(errOut, "hubdesk") || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and %q", what, code, out, errOut, c.want)
		}
		if strings.Count(errOut, "\n") != 1 || doubledPrefix.MatchString(errOut) {
			t.Errorf("%s: want one line with one prefix, got %q", what, errOut)
		}
		noFiles(t, dir, what)
	}
}
