package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
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
func adminStores(ctx context.Context, e *env) (*database.DB, *secret.Box, error) {
	if err := e.cfg.Validate(); err != nil {
		return nil, nil, usageError{err.Error()}
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return openStore(ctx, e.cfg, logger)
}

func runShop(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{"want 'shop create', 'shop list' or 'shop secret'"}
	}
	fs := newFlags(e, "shop", "shop create --name NAME --domain x.myshopify.com [--client-secret S] | shop list | shop secret --domain x.myshopify.com --client-secret S")
	fs.StringVar(&e.cfg.DataDir, "data", e.cfg.DataDir, "data directory (HUBDESK_DATA_DIR)")
	name := fs.String("name", "", "shop name")
	domain := fs.String("domain", "", "myshopify domain")
	clientSecret := fs.String("client-secret", "", "Shopify app client secret (or HUBDESK_SHOPIFY_CLIENT_SECRET)")
	locale := fs.String("locale", "en", "default shopper language")
	currency := fs.String("currency", "USD", "shop currency")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	db, box, err := adminStores(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	shops := shop.NewStore(db, box)
	switch args[0] {
	case "create":
		secretValue := *clientSecret
		if secretValue == "" {
			secretValue, _ = os.LookupEnv("HUBDESK_SHOPIFY_CLIENT_SECRET")
		}
		sh, err := shops.Create(ctx, shop.NewShop{Name: *name, Domain: *domain, ClientSecret: secretValue, Locale: *locale, Currency: *currency})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "created shop %d %s\n", sh.ID, sh.Domain)
	case "secret":
		secretValue := *clientSecret
		if secretValue == "" {
			secretValue, _ = os.LookupEnv("HUBDESK_SHOPIFY_CLIENT_SECRET")
		}
		if secretValue == "" {
			return usageError{"--client-secret (or HUBDESK_SHOPIFY_CLIENT_SECRET) is required"}
		}
		sh, err := shops.GetByDomain(ctx, *domain)
		if errors.Is(err, shop.ErrNotFound) {
			return usageError{fmt.Sprintf("no shop %q (see 'hubdesk shop list')", *domain)}
		}
		if err != nil {
			return err
		}
		if err := shops.SetClientSecret(ctx, sh.ID, secretValue); err != nil {
			return err
		}
		// Running servers cache shops for a minute (see hub/shops.go).
		fmt.Fprintf(e.stdout, "client secret of %s replaced; running servers use it within a minute\n", sh.Domain)
	case "list":
		list, err := shops.List(ctx)
		if err != nil {
			return err
		}
		for _, sh := range list {
			fmt.Fprintf(e.stdout, "%d\t%s\t%s\n", sh.ID, sh.Domain, sh.Name)
		}
	default:
		return usageError{fmt.Sprintf("unknown shop command %q", args[0])}
	}
	return nil
}

func runUser(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{"want 'user create', 'user password' or 'user token'"}
	}
	sub := args[0]
	fs := newFlags(e, "user", "user create EMAIL --shop DOMAIN --role ROLE [--name N] [--password P] | user password EMAIL [--password P] | user token EMAIL [--name N]")
	fs.StringVar(&e.cfg.DataDir, "data", e.cfg.DataDir, "data directory (HUBDESK_DATA_DIR)")
	shopDomain := fs.String("shop", "", "the user's shop (myshopify domain)")
	role := fs.String("role", "agent", "owner, admin, manager or agent")
	name := fs.String("name", "", "display name (create) or token label (token)")
	password := fs.String("password", "", "password; a random one is generated and printed when empty")
	// Flags may come before or after the email.
	rest := args[1:]
	var email string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		email, rest = rest[0], rest[1:]
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	if email == "" && fs.NArg() > 0 {
		email = fs.Arg(0)
	}
	if email == "" {
		return usageError{"an EMAIL is required"}
	}
	db, box, err := adminStores(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	users := user.NewStore(db)
	access := staff.New(db, users, audit.New(db))
	switch sub {
	case "create":
		r, err := user.ParseRole(*role)
		if err != nil {
			return usageError{err.Error()}
		}
		sh, err := shop.NewStore(db, box).GetByDomain(ctx, *shopDomain)
		if errors.Is(err, shop.ErrNotFound) {
			return usageError{fmt.Sprintf("no shop %q (see 'hubdesk shop list')", *shopDomain)}
		}
		if err != nil {
			return err
		}
		pw, generated := choosePassword(*password)
		if err := user.ValidatePassword(pw); err != nil {
			return usageError{err.Error()}
		}
		u, err := users.Create(ctx, user.NewUser{ShopID: sh.ID, Email: email, Name: *name, Role: r, Password: pw})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "created %s %s in %s\n", u.Role.Label(), u.Email, sh.Domain)
		printGenerated(e.stdout, generated, pw)
	case "password":
		u, err := findUser(ctx, users, email)
		if err != nil {
			return err
		}
		pw, generated := choosePassword(*password)
		if err := access.ResetPassword(ctx, u.ID, pw); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "password reset for %s; their sessions were ended\n", u.Email)
		printGenerated(e.stdout, generated, pw)
	case "token":
		u, err := findUser(ctx, users, email)
		if err != nil {
			return err
		}
		label := *name
		if label == "" {
			label = "command line"
		}
		token, err := access.CreateAPIToken(ctx, u, label)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, token) // alone on stdout, for scripts
	default:
		return usageError{fmt.Sprintf("unknown user command %q", sub)}
	}
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
