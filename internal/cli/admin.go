package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/staff"
	"github.com/hubdesk/hubdesk/internal/user"
)

// adminStores opens the database for the administration commands, which
// may run while a server is using it (SQLite in WAL mode allows that).
// Commands check their arguments before calling it, so a mistake creates
// no file.
func adminStores(ctx context.Context, e *env) (*database.DB, *secret.Box, error) {
	if err := e.cfg.Validate(); err != nil {
		return nil, nil, usageError{err.Error()}
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return openStore(ctx, e.cfg, logger)
}

// flagValue is a flag's name and what was given, for required.
type flagValue struct{ name, value string }

// required names the first of the flags that was left empty.
func required(flags ...flagValue) error {
	for _, f := range flags {
		if strings.TrimSpace(f.value) == "" {
			return usageError{"--" + f.name + " is required"}
		}
	}
	return nil
}

func runShop(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "shop", map[string]subcommand{
		"create": {"add a shop", runShopCreate},
		"list":   {"list the shops", runShopList},
		"secret": {"replace a shop's Shopify client secret", runShopSecret},
	}, args)
}

// shopClientSecret is --client-secret, or HUBDESK_SHOPIFY_CLIENT_SECRET so
// the secret need not appear in the process list.
func shopClientSecret(given string) string {
	if given != "" {
		return given
	}
	v, _ := os.LookupEnv("HUBDESK_SHOPIFY_CLIENT_SECRET")
	return v
}

func runShopCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "shop create", "shop create --name NAME --domain x.myshopify.com [--client-secret S] [--locale en] [--currency USD] [--data DIR]")
	addDataFlag(fs, e.cfg)
	name := fs.String("name", "", "shop name (required)")
	domainFlag := fs.String("domain", "", "the shop's x.myshopify.com domain or host name (required)")
	clientSecret := fs.String("client-secret", "", "Shopify app client secret (or HUBDESK_SHOPIFY_CLIENT_SECRET)")
	locale := fs.String("locale", "en", "default shopper language")
	currency := fs.String("currency", "USD", "shop currency")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(flagValue{"name", *name}, flagValue{"domain", *domainFlag}); err != nil {
		return err
	}
	domain, err := shop.ParseDomain(*domainFlag)
	if err != nil {
		return usageError{"--domain: " + err.Error()}
	}
	db, box, err := adminStores(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	sh, err := shop.NewStore(db, box).Create(ctx, shop.NewShop{Name: *name, Domain: domain, ClientSecret: shopClientSecret(*clientSecret), Locale: *locale, Currency: *currency})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created shop %d %s\n", sh.ID, sh.Domain)
	return nil
}

func runShopList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "shop list", "shop list [--data DIR]")
	addDataFlag(fs, e.cfg)
	if err := parse(fs, args); err != nil {
		return err
	}
	db, box, err := adminStores(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := shop.NewStore(db, box).List(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no shops yet; add one with 'hubdesk shop create'")
		return nil
	}
	for _, sh := range list {
		fmt.Fprintf(e.stdout, "%d\t%s\t%s\n", sh.ID, sh.Domain, sh.Name)
	}
	return nil
}

func runShopSecret(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "shop secret", "shop secret --domain x.myshopify.com --client-secret S [--data DIR]")
	addDataFlag(fs, e.cfg)
	domainFlag := fs.String("domain", "", "the shop's domain (required)")
	clientSecret := fs.String("client-secret", "", "the new Shopify app client secret (or HUBDESK_SHOPIFY_CLIENT_SECRET)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(flagValue{"domain", *domainFlag}); err != nil {
		return err
	}
	secretValue := shopClientSecret(*clientSecret)
	if secretValue == "" {
		return usageError{"--client-secret (or HUBDESK_SHOPIFY_CLIENT_SECRET) is required"}
	}
	domain, err := shop.ParseDomain(*domainFlag)
	if err != nil {
		return usageError{"--domain: " + err.Error()}
	}
	db, box, err := adminStores(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	shops := shop.NewStore(db, box)
	sh, err := shops.GetByDomain(ctx, domain)
	if errors.Is(err, shop.ErrNotFound) {
		return usageError{fmt.Sprintf("no shop %q (see 'hubdesk shop list')", domain)}
	}
	if err != nil {
		return err
	}
	if err := shops.SetClientSecret(ctx, sh.ID, secretValue); err != nil {
		return err
	}
	// Running servers cache shops for a minute (see hub/shops.go).
	fmt.Fprintf(e.stdout, "client secret of %s replaced; running servers use it within a minute\n", sh.Domain)
	return nil
}

func runUser(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "user", map[string]subcommand{
		"create":   {"add a staff account to a shop", runUserCreate},
		"password": {"reset a user's password (ends their sessions)", runUserPassword},
		"token":    {"issue an API token for a user", runUserToken},
	}, args)
}

// parseWithEmail parses the flags of a user command, which take one EMAIL
// before or after them.
func parseWithEmail(fs *flag.FlagSet, args []string) (string, error) {
	var email string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		email, args = args[0], args[1:]
	}
	if err := parseAllowingArgs(fs, args); err != nil {
		return "", err
	}
	rest := fs.Args()
	if email == "" && len(rest) > 0 {
		email, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return "", usageError{fmt.Sprintf("unexpected argument %q (see 'hubdesk %s -h')", rest[0], fs.Name())}
	}
	if email == "" {
		return "", usageError{fmt.Sprintf("an EMAIL is required (see 'hubdesk %s -h')", fs.Name())}
	}
	return email, nil
}

func runUserCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user create", "user create EMAIL --shop DOMAIN [--role agent] [--name NAME] [--password P] [--data DIR]")
	addDataFlag(fs, e.cfg)
	shopDomain := fs.String("shop", "", "the user's shop, by domain (required)")
	role := fs.String("role", "agent", "owner, admin, manager or agent")
	name := fs.String("name", "", "display name")
	password := fs.String("password", "", "password; a random one is generated and printed when empty")
	email, err := parseWithEmail(fs, args)
	if err != nil {
		return err
	}
	if err := required(flagValue{"shop", *shopDomain}); err != nil {
		return err
	}
	r, err := user.ParseRole(*role)
	if err != nil {
		return usageError{"--role: " + err.Error()}
	}
	pw, generated := choosePassword(*password)
	if err := user.ValidatePassword(pw); err != nil {
		return usageError{"--password: " + err.Error()}
	}
	db, box, err := adminStores(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	sh, err := shop.NewStore(db, box).GetByDomain(ctx, *shopDomain)
	if errors.Is(err, shop.ErrNotFound) {
		return usageError{fmt.Sprintf("no shop %q (see 'hubdesk shop list')", *shopDomain)}
	}
	if err != nil {
		return err
	}
	u, err := user.NewStore(db).Create(ctx, user.NewUser{ShopID: sh.ID, Email: email, Name: *name, Role: r, Password: pw})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created %s %s in %s\n", u.Role.Label(), u.Email, sh.Domain)
	printGenerated(e.stdout, generated, pw)
	return nil
}

func runUserPassword(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user password", "user password EMAIL [--password P] [--data DIR]")
	addDataFlag(fs, e.cfg)
	password := fs.String("password", "", "the new password; a random one is generated and printed when empty")
	email, err := parseWithEmail(fs, args)
	if err != nil {
		return err
	}
	pw, generated := choosePassword(*password)
	if err := user.ValidatePassword(pw); err != nil {
		return usageError{"--password: " + err.Error()}
	}
	db, access, u, err := staffCommand(ctx, e, email)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := access.ResetPassword(ctx, u.ID, pw); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "password reset for %s; their sessions were ended and their API tokens revoked\n", u.Email)
	printGenerated(e.stdout, generated, pw)
	return nil
}

func runUserToken(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user token", "user token EMAIL [--name LABEL] [--data DIR]")
	addDataFlag(fs, e.cfg)
	name := fs.String("name", "command line", "the token's label, shown in the desk")
	email, err := parseWithEmail(fs, args)
	if err != nil {
		return err
	}
	db, access, u, err := staffCommand(ctx, e, email)
	if err != nil {
		return err
	}
	defer db.Close()
	token, err := access.CreateAPIToken(ctx, u, *name)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, token) // alone on stdout, for scripts
	return nil
}

func findUser(ctx context.Context, users *user.Store, email string) (*user.User, error) {
	u, err := users.GetByEmail(ctx, email)
	if errors.Is(err, user.ErrNotFound) {
		return nil, fmt.Errorf("no user with email %s", email)
	}
	return u, err
}

func choosePassword(given string) (string, bool) {
	if given != "" {
		return given, false
	}
	buf := make([]byte, 12)
	rand.Read(buf)
	return base64.RawURLEncoding.EncodeToString(buf), true
}

func printGenerated(w io.Writer, generated bool, pw string) {
	if generated {
		fmt.Fprintf(w, "password: %s\n", pw)
	}
}

// staffCommand opens the database for a command acting on one person: the
// staff use cases (audited like the desk's) and the user named by email.
// The caller closes db.
func staffCommand(ctx context.Context, e *env, email string) (*database.DB, *staff.Access, *user.User, error) {
	db, _, err := adminStores(ctx, e)
	if err != nil {
		return nil, nil, nil, err
	}
	users := user.NewStore(db)
	u, err := findUser(ctx, users, email)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return db, staff.New(db, users, audit.New(db)), u, nil
}
