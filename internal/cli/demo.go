package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"text/tabwriter"
	"time"

	"github.com/hubdesk/hubdesk/internal/demo"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	shopifysandbox "github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
	"github.com/hubdesk/hubdesk/internal/server"
	"github.com/hubdesk/hubdesk/internal/user"
)

// runDemo starts hubdesk on an embedded SQLite database seeded with the
// demo shop, so a newcomer sees every surface working with one command.
// Its logins are published, so it keeps to a directory of its own (never
// HUBDESK_DATA_DIR or HUBDESK_DATABASE_URL, which may be production's) and
// to loopback unless told --public.
func runDemo(ctx context.Context, e *env, args []string) error {
	started := time.Now()
	fs := newFlags(e, "demo", "demo [--addr host:port] [--smtp-addr host:port] [--data DIR] [--public] [--clock TIME]")
	fs.StringVar(&e.cfg.Addr, "addr", e.cfg.Addr, "address to listen on, loopback unless --public (HUBDESK_ADDR)")
	fs.StringVar(&e.cfg.SMTPAddr, "smtp-addr", e.cfg.SMTPAddr, "address of the SMTP listener mail to the demo shop goes to, loopback unless --public (HUBDESK_SMTP_ADDR; default "+demoSMTPAddr+", or a free port when it is taken)")
	dataDir := fs.String("data", "", "the demo's own data directory, new or empty or used by the demo before (default: a temporary one, removed on exit; never HUBDESK_DATA_DIR)")
	public := fs.Bool("public", false, "allow an --addr other machines can reach, though the demo's logins are published")
	clockAt := fs.String("clock", "", "hold the demo's clock at this instant (RFC 3339, e.g. 2026-11-20T15:00:00Z) instead of now: its data and pages then show the same dates and ages on every run, as the screenshots need")
	if err := parse(fs, args); err != nil {
		return err
	}
	now := time.Now
	if *clockAt != "" {
		at, err := time.Parse(time.RFC3339, *clockAt)
		if err != nil {
			return usageError{fmt.Sprintf("--clock %q: want an RFC 3339 time such as 2026-11-20T15:00:00Z", *clockAt)}
		}
		// The clock of the data and the pages stands still there, so that
		// "waiting 1 h" reads the same whenever a page is taken. Sessions
		// and jobs keep the real clock.
		now = func() time.Time { return at }
	}
	if err := checkDemoAddr(e.cfg.Addr, *public); err != nil {
		return err
	}
	server.TuneGC()
	smtpAddr := e.cfg.SMTPAddr
	if smtpAddr != "" {
		if err := checkDemoAddr(smtpAddr, *public); err != nil {
			return err
		}
	}
	if *public {
		fmt.Fprintf(e.stderr, "hubdesk demo: warning: --public: anyone who can reach %s can sign in with the published demo logins\n", e.cfg.Addr)
	}
	e.cfg.DatabaseURL = ""
	e.cfg.SecretKey = "" // the demo seals its secrets with a key of its own
	e.cfg.DataDir = *dataDir
	if e.cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "hubdesk-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		e.cfg.DataDir = dir
	}
	if err := demo.ClaimDataDir(e.cfg.DataDir); err != nil {
		if errors.Is(err, demo.ErrNotDemoDir) {
			return usageError{err.Error()}
		}
		return err
	}
	ln, err := net.Listen("tcp", e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", e.cfg.Addr, err)
	}
	defer ln.Close()
	if e.cfg.BaseURL == "" {
		e.cfg.BaseURL = "http://" + ln.Addr().String()
	}
	e.cfg.Addr = ln.Addr().String()
	smtpLn, err := listenDemoSMTP(smtpAddr)
	if err != nil {
		return err
	}
	defer smtpLn.Close()
	e.cfg.SMTPAddr = smtpLn.Addr().String()
	// Metrics get a free loopback port, whatever HUBDESK_METRICS_ADDR says,
	// so demos never collide with a server's metrics port.
	metricsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for metrics: %w", err)
	}
	defer metricsLn.Close()
	e.cfg.MetricsAddr = metricsLn.Addr().String()
	// Mail goes to a relay of the demo's own that delivers nothing and
	// keeps it for the desk's mailbox page, unless a real relay was given.
	var mailbox *demo.Mailbox
	if e.cfg.SMTPURL == "" {
		if mailbox, err = demo.StartMailbox(); err != nil {
			return fmt.Errorf("start the demo mailbox: %w", err)
		}
		defer mailbox.Close()
		e.cfg.SMTPURL = mailbox.URL()
		if e.cfg.MailFrom == "" {
			e.cfg.MailFrom = demo.MailFrom
		}
	}
	if err := e.cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	logger := newLogger(e.stderr, e.cfg, "text")
	// The Loop sandbox runs in-process on its own loopback port, so its
	// deep links and portal pages are real URLs a browser can open.
	loopLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the Loop sandbox: %w", err)
	}
	loopSandbox := sandbox.New(sandbox.Options{NoSeed: true, ShopName: demo.ShopName, Logger: logger.With("component", "loop-sandbox"), Now: now})
	defer loopSandbox.Close()
	loopSandbox.SetBaseURL("http://" + loopLn.Addr().String())
	go loopSandbox.Serve(ctx, loopLn)
	e.cfg.LoopBaseURL = loopSandbox.BaseURL()
	// The Shopify storefront sandbox gets its own loopback port too: the
	// hub is then opened through a real App Proxy, on another origin than
	// the desk, as on a real store.
	shopLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the Shopify sandbox: %w", err)
	}
	defer shopLn.Close()
	// The demo shop is connected to that sandbox's Admin API: tokens,
	// subscriptions, customer refreshes and the backfill all go there.
	e.cfg.ShopifyAdminURL = "http://" + shopLn.Addr().String()

	db, box, err := openStore(ctx, e.cfg, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	srv, err := newServer(db, box, logger, e.cfg, smtpLn, func(o *server.Options) {
		if mailbox != nil {
			o.DemoMailbox, o.DemoMailboxShop = mailbox, demo.ShopDomain
		}
		if *clockAt != "" {
			o.Now = now
		}
	})
	if err != nil {
		return err
	}
	seeded, err := demo.Seed(ctx, demo.Stores{Shops: srv.Shops, Users: srv.Users, Commerce: srv.Commerce, Orders: srv.Ingest}, e.cfg.BaseURL, now())
	if err != nil {
		return err
	}
	if err := demo.ConnectLoop(ctx, loopSandbox, demo.LoopStores{Settings: srv.Settings, Records: srv.Returns}, seeded, now()); err != nil {
		return err
	}
	var showcase int64
	if seeded.Created {
		if showcase, err = demo.SeedReturnsShowcase(ctx, loopSandbox, demo.ShowcaseStores{Orders: srv.Ingest, Records: srv.Returns, Tickets: srv.Tickets},
			seeded.Shop.ID, e.cfg.BaseURL, now()); err != nil {
			return err
		}
		if _, err := demo.SeedHelpdesk(ctx, demo.HelpdeskStores{DB: db, Users: srv.Users, Commerce: srv.Commerce, Audit: srv.Audit, Returns: srv.Returns}, seeded, now()); err != nil {
			return err
		}
	} else if showcase, err = demo.ShowcaseTicket(ctx, db, seeded.Shop.ID); err != nil {
		return err
	}
	owner, err := srv.Users.GetByEmail(ctx, demo.OwnerEmail)
	if err != nil {
		return err
	}
	token, err := srv.Staff.CreateAPIToken(ctx, owner, "demo")
	if err != nil {
		return err
	}
	storefront := shopifysandbox.New(shopifysandbox.Options{
		Shop: demo.ShopDomain, ShopName: demo.ShopName, ClientSecret: demo.ClientSecret,
		ProxyPrefix: shopifysandbox.DefaultProxyPrefix, ProxyTarget: e.cfg.BaseURL + "/hub",
		Customers: demo.StorefrontCustomers(seeded), HubScriptURL: e.cfg.BaseURL + "/hub/embed.js",
		BaseURL: "http://" + shopLn.Addr().String(), Logger: logger.With("component", "shopify-sandbox"), Now: now,
		// Orders created, fulfilled or delivered in the sandbox (its /admin
		// page, or `hubdesk sandbox shopify order …`) reach the demo as
		// signed webhooks, as a real store's would.
		WebhookURL: e.cfg.BaseURL + "/webhooks/shopify",
		// Its Admin API takes the demo's token, as a store takes the
		// token of an admin-created custom app.
		AdminToken: demo.AdminToken, NextOrderNumber: demo.NextOrderNumber(seeded), ImageURL: demo.SandboxImageURL(e.cfg.BaseURL),
	})
	go storefront.Serve(ctx, shopLn)
	if _, err := demo.ConnectShopify(ctx, srv.ShopifyConnect, seeded.Shop.ID); err != nil {
		return err
	}
	printDemoBanner(e, seeded, showcase, token, loopSandbox.BaseURL(), storefront, srv.MailRouter.BuiltIn(seeded.Shop.Domain), mailbox, time.Since(started))
	return srv.Serve(ctx, ln, metricsLn)
}

// checkDemoAddr refuses an address other machines can reach unless the
// demo was started --public: its logins are in the README.
func checkDemoAddr(addr string, public bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError{fmt.Sprintf("--addr %q: want host:port", addr)}
	}
	ip := net.ParseIP(host)
	if public || host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return usageError{fmt.Sprintf("--addr %s can be reached from other machines and the demo's logins are published; use a loopback address such as 127.0.0.1:8080, or add --public", addr)}
}

// demoSMTPAddr is where the demo takes mail unless told otherwise.
const demoSMTPAddr = "127.0.0.1:2525"

// listenDemoSMTP listens on addr; with none given, on demoSMTPAddr or, when
// another program has that port, on a free loopback port, so a second demo
// still starts.
func listenDemoSMTP(addr string) (net.Listener, error) {
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen for SMTP on %s: %w", addr, err)
		}
		return ln, nil
	}
	if ln, err := net.Listen("tcp", demoSMTPAddr); err == nil {
		return ln, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for SMTP: %w", err)
	}
	return ln, nil
}

func printDemoBanner(e *env, seeded *demo.Result, showcase int64, token, loopURL string, storefront *shopifysandbox.Sandbox, supportAddress string, mailbox *demo.Mailbox, startup time.Duration) {
	base := e.cfg.BaseURL
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "\nhubdesk demo is running (%s, started in %d ms)\n\n", seeded.Shop.Name, startup.Milliseconds())
	fmt.Fprintf(w, "  Desk\t%s/login\n", base)
	fmt.Fprintf(w, "  Owner\t%s / %s\t(%s)\n", demo.OwnerEmail, demo.Password, user.RoleOwner.Label())
	fmt.Fprintf(w, "  Agent\t%s / %s\t(%s)\n", demo.AgentEmail, demo.Password, user.RoleAgent.Label())
	fmt.Fprintf(w, "  Customers\t%s/customers\n", base)
	if seeded.Shopper != nil {
		// The shopper's own view: the storefront logs them in and lands on
		// the hub through the App Proxy (see "Shopper hub" below for why it
		// is not a pre-signed URL); the desk's record of them beside it.
		fmt.Fprintf(w, "  Demo shopper\t%s\t(%s, %s; in the desk: %s/customers/%d)\n",
			storefront.LoginAsURL(seeded.Shopper.ExternalID, storefront.ProxyPrefix()),
			seeded.Shopper.FirstName+" "+seeded.Shopper.LastName, seeded.Shopper.Email, base, seeded.Shopper.ID)
	}
	if showcase != 0 {
		fmt.Fprintf(w, "  Returns ticket\t%s/tickets/%d\t(%s: a return in every state, tracking links, Initiate return with its QR code; advance a return below to see the card change live)\n",
			base, showcase, demo.ShowcaseSubject)
	}
	fmt.Fprintf(w, "  API\tcurl -H 'Authorization: Bearer %s' %s/api/v1/customers\n", token, base)
	fmt.Fprintf(w, "  OpenAPI\t%s/api/v1/openapi.json\n", base)
	fmt.Fprintf(w, "  Metrics\thttp://%s/metrics\t(Prometheus, loopback only)\n", e.cfg.MetricsAddr)
	fmt.Fprintf(w, "  Loop sandbox\t%s/api/%s\t(key %s; portal %s/portal/; advance a return: hubdesk sandbox loop advance --url %s ID)\n",
		loopURL, loop.DefaultAPIVersion, sandbox.KeyFull, loopURL, loopURL)
	fmt.Fprintf(w, "  Storefront\t%s/\t(Shopify sandbox; App Proxy %s → %s/hub)\n", storefront.BaseURL(), storefront.ProxyPrefix(), base)
	fmt.Fprintf(w, "  Shopify admin\t%s/admin\t(create, fulfil, deliver orders: webhooks to %s/webhooks/shopify; or hubdesk sandbox shopify order create --sandbox %s)\n",
		storefront.BaseURL(), base, storefront.BaseURL())
	if seeded.Shopper != nil {
		// The hub is printed as a storefront link that logs the shopper in
		// and lands on the App Proxy, never as a pre-signed /hub?…&signature=
		// URL: App Proxy signatures are good for 90 seconds, so such a link
		// would be stale before anyone clicked it. The storefront signs each
		// request as it forwards it, as Shopify does.
		name := seeded.Shopper.FirstName + " " + seeded.Shopper.LastName
		fmt.Fprintf(w, "  Shopper hub\t%s  (logs in %s, opens the hub)\n", storefront.LoginAsURL(seeded.Shopper.ExternalID, storefront.ProxyPrefix()), name)
		fmt.Fprintf(w, "  Hub drawer\t%s  (%s on the product page: open the help button)\n", storefront.LoginAsURL(seeded.Shopper.ExternalID, "/"), name)
	}
	if mailbox != nil {
		fmt.Fprintf(w, "  Mailbox\t%s/demo/mailbox\t(every mail the demo sends: replies, acknowledgements, notifications)\n", base)
	}
	fmt.Fprintf(w, "  Shopify client secret\t%s\t(demo only)\n", demo.ClientSecret)
	fmt.Fprintf(w, "  Shopify connection\t%s/settings/shopify\t(connected to the sandbox's Admin API: customer refreshes, backfill, webhook subscriptions)\n", base)
	fmt.Fprintf(w, "  SMTP in\t%s\t(support address %s)\n", e.cfg.SMTPAddr, supportAddress)
	host, port, _ := net.SplitHostPort(e.cfg.SMTPAddr)
	fmt.Fprintf(w, "  Mail a ticket in\tswaks --server %s --port %s --to %s --from shopper@example.com --header 'Subject: Where is my order?' --body 'Hello, my parcel has not arrived.'\n", host, port, supportAddress)
	fmt.Fprintf(w, "  (or with curl)\tprintf 'From: shopper@example.com\\r\\nTo: %s\\r\\nSubject: Where is my order?\\r\\n\\r\\nHello, my parcel has not arrived.\\r\\n' | curl -sS smtp://%s --mail-from shopper@example.com --mail-rcpt %s -T -\n", supportAddress, e.cfg.SMTPAddr, supportAddress)
	fmt.Fprintf(w, "  Data\t%s\n", e.cfg.DataDir)
	fmt.Fprintf(w, "\nPress Ctrl+C to stop.\n\n")
	w.Flush()
}
