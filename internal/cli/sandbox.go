package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/demo"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	loopsandbox "github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	shopifysandbox "github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
)

// runSandbox serves a contract-faithful simulator of a third-party API
// standalone, for development against hubdesk or anything else.
func runSandbox(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "sandbox", map[string]subcommand{
		"loop":    {"the Loop Returns API, with its returns portal", runLoopSandbox},
		"shopify": {"a Shopify storefront with a signing App Proxy", runShopifySandbox},
	}, args)
}

func runLoopSandbox(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "advance" {
		return runLoopSandboxAdvance(ctx, e, args[1:])
	}
	fs := newFlags(e, "sandbox loop", "sandbox loop [--addr host:port] | sandbox loop advance [--url URL] RETURN_ID")
	addr := fs.String("addr", "127.0.0.1:8089", "address to listen on")
	if err := parse(fs, args); err != nil {
		return err
	}
	logger := newLogger(e.stderr, e.cfg, "text")
	sb := loopsandbox.New(loopsandbox.Options{Logger: logger})
	defer sb.Close()
	fmt.Fprintf(e.stdout, "Loop sandbox on http://%s/api/%s (and the v1 alias; keys: %s, %s, %s; webhook secret %s)\n",
		*addr, loop.DefaultAPIVersion, loopsandbox.KeyFull, loopsandbox.KeyOrders, loopsandbox.KeyReturns, sb.WebhookSecret())
	return sb.ListenAndServe(ctx, *addr)
}

// runLoopSandboxAdvance moves a running sandbox's return one step along
// its life (its admin endpoint), which sends the signed webhooks to the
// subscribed hubdesk: the demo's open ticket updates within seconds.
func runLoopSandboxAdvance(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "sandbox loop advance", "sandbox loop advance [--url URL] RETURN_ID")
	base := fs.String("url", "http://127.0.0.1:8089", "the running sandbox's root URL (the demo prints it)")
	// The id may come before or after the flag.
	var arg string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		arg, args = args[0], args[1:]
	}
	if err := parseAllowingArgs(fs, args); err != nil {
		return err
	}
	if rest := fs.Args(); arg == "" && len(rest) == 1 {
		arg = rest[0]
	} else if len(rest) > 0 || arg == "" {
		return usageError{"give the id of the one return to advance (see 'hubdesk sandbox loop advance -h')"}
	}
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return usageError{fmt.Sprintf("%q is not a return id", arg)}
	}
	u, err := url.Parse(strings.TrimRight(*base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Sprintf("--url %q: want http(s)://host:port", *base)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String()+"/_sandbox/returns/"+strconv.FormatInt(id, 10)+"/advance", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("advance return %d: %w", id, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("advance return %d: the sandbox answered %d: %s", id, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	_, err = e.stdout.Write(body)
	return err
}

// runShopifySandbox serves a storefront whose App Proxy forwards to a
// hubdesk (by default a `hubdesk demo` on its default address, with the
// demo's customers and client secret), so the hub can be opened the way a
// shopper opens it.
func runShopifySandbox(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "order" {
		return runShopifySandboxOrder(ctx, e, args[1:])
	}
	fs := newFlags(e, "sandbox shopify", "sandbox shopify [--addr host:port] [--proxy-target URL] [--client-secret S] [--prefix /apps/hub] [--customer ID,EMAIL,FIRST,LAST ...] [--orders N] [--admin-token T] [--client-id ID] [--custom-app ID:SECRET ...]\n"+
		"       sandbox shopify order create|fulfill|in-transit|out-for-delivery|deliver|cancel|refund [--sandbox URL] [--customer ID] [ORDER_ID]")
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	target := fs.String("proxy-target", "http://127.0.0.1:8080/hub", "the app's proxy URL, where the App Proxy forwards")
	secret := fs.String("client-secret", demo.ClientSecret, "the app's client secret, which signs proxied requests (default: the demo shop's)")
	shopDomain := fs.String("shop", demo.ShopDomain, "the shop's myshopify.com domain, sent as shop")
	shopName := fs.String("shop-name", demo.ShopName, "the store name on the storefront")
	prefix := fs.String("prefix", shopifysandbox.DefaultProxyPrefix, "the App Proxy's prefix and subpath on the storefront")
	script := fs.String("hub-script", "", "the hub's drawer script (default: PROXY-TARGET/embed.js; \"none\" leaves it out)")
	duplicates := fs.Bool("forward-shopper-duplicates", false, "keep identity parameters the shopper puts in the URL ahead of the proxy's own and sign them all (to test that the app refuses them)")
	var customers customerFlag
	fs.Var(&customers, "customer", "a storefront account `ID,EMAIL,FIRST,LAST` (repeatable; default: the demo's customers)")
	orders := fs.Int("orders", 200, "how many orders the shop is seeded with, spread over its customers (computed when read: 100000 costs no memory)")
	clientID := fs.String("client-id", "hubdesk-sandbox-app", "the public app's client id: its install (/admin/oauth/authorize) is signed with --client-secret; run hubdesk with HUBDESK_SHOPIFY_CLIENT_ID, _CLIENT_SECRET and HUBDESK_SHOPIFY_ADMIN_URL=this sandbox")
	var apps customAppFlag
	fs.Var(&apps, "custom-app", "a Dev Dashboard custom app `CLIENT_ID:CLIENT_SECRET` whose client credentials buy tokens (repeatable)")
	adminToken := fs.String("admin-token", shopifysandbox.DemoAdminToken, "an Admin API access token the sandbox accepts (X-Shopify-Access-Token)")
	webhookURL := fs.String("webhook-url", "", "where every change is sent as a signed webhook (default: PROXY-TARGET's host + /webhooks/shopify; \"none\": only to the app's subscriptions)")
	webhookDuplicates := fs.Bool("webhook-duplicates", false, "send every webhook twice (same event id)")
	webhookReorder := fs.Bool("webhook-reorder", false, "send webhooks that queue up newest first")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch *webhookURL {
	case "":
		if u, err := url.Parse(*target); err == nil {
			*webhookURL = u.Scheme + "://" + u.Host + "/webhooks/shopify"
		}
	case "none":
		*webhookURL = ""
	}
	switch *script {
	case "":
		*script = strings.TrimRight(*target, "/") + "/embed.js"
	case "none":
		*script = ""
	}
	if len(customers) == 0 {
		customers = demo.DefaultStorefrontCustomers()
	}
	opts := shopifysandbox.Options{
		Shop: *shopDomain, ShopName: *shopName, ClientSecret: *secret, ProxyPrefix: *prefix,
		ProxyTarget: *target, Customers: customers, HubScriptURL: *script, ForwardShopperDuplicates: *duplicates,
		Orders: *orders, AdminToken: *adminToken, ClientID: *clientID, CustomApps: apps,
		WebhookURL: *webhookURL, WebhookDuplicates: *webhookDuplicates, WebhookReorder: *webhookReorder,
		Logger: newLogger(e.stderr, e.cfg, "text").With("component", "shopify-sandbox"),
	}
	if err := checkProxyTarget(*target); err != nil {
		return usageError{err.Error()}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	sb := shopifysandbox.New(opts)
	sb.SetBaseURL("http://" + ln.Addr().String())
	fmt.Fprintf(e.stdout, "Shopify storefront sandbox on %s (App Proxy %s → %s)\n  %s's hub: %s\n  shop admin: %s/admin (Admin API token %s)\n",
		sb.BaseURL(), sb.ProxyPrefix(), *target, customers[0].Name(), sb.LoginAsURL(customers[0].ID, sb.ProxyPrefix()), sb.BaseURL(), *adminToken)
	defer sb.Close()
	return sb.Serve(ctx, ln)
}

// customAppFlag collects --custom-app CLIENT_ID:CLIENT_SECRET.
type customAppFlag []shopifysandbox.App

func (c *customAppFlag) String() string { return "" }

func (c *customAppFlag) Set(v string) error {
	id, secret, ok := strings.Cut(v, ":")
	if !ok || id == "" || secret == "" {
		return fmt.Errorf("want CLIENT_ID:CLIENT_SECRET")
	}
	*c = append(*c, shopifysandbox.App{ClientID: id, ClientSecret: secret})
	return nil
}

// checkProxyTarget refuses a target the sandbox could not forward to, as
// one clear line instead of a panic.
func checkProxyTarget(target string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--proxy-target %q: want an http:// or https:// URL", target)
	}
	return nil
}

// customerFlag collects repeated --customer values.
type customerFlag []shopifysandbox.Customer

var _ flag.Value = (*customerFlag)(nil)

func (c *customerFlag) String() string { return fmt.Sprint(len(*c), " customers") }

func (c *customerFlag) Set(v string) error {
	parts := strings.Split(v, ",")
	if len(parts) != 4 || parts[0] == "" {
		return fmt.Errorf("want ID,EMAIL,FIRST,LAST, got %q", v)
	}
	*c = append(*c, shopifysandbox.Customer{ID: parts[0], Email: parts[1], FirstName: parts[2], LastName: parts[3]})
	return nil
}

// runShopifySandboxOrder changes an order in a running Shopify sandbox,
// as its admin page's buttons do: create one for a customer, fulfil it,
// move its shipment along, cancel or refund it. It prints the order's id.
func runShopifySandboxOrder(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "sandbox shopify order", "sandbox shopify order create|fulfill|in-transit|out-for-delivery|deliver|cancel|refund [--sandbox URL] [--customer ID] [--quantity N] [--line ID] [--amount X.YY] [ORDER_ID]")
	base := fs.String("sandbox", "http://127.0.0.1:8090", "the running sandbox's root")
	customer := fs.String("customer", "", "create: the customer's numeric id (default: the demo's first customer)")
	quantity := fs.Int("quantity", 1, "create: how many of the item; refund: how many units of --line")
	line := fs.String("line", "", "refund: the line item's numeric id to refund units of (none: an amount only)")
	amount := fs.String("amount", "", "refund: the money given back, e.g. 12.50 (default: what the units are worth)")
	restock := fs.Bool("restock", false, "refund: put the units back in stock")
	carrier := fs.String("carrier", "", "fulfill: the carrier (default UPS)")
	tracking := fs.String("tracking-number", "", "fulfill: the tracking number (default: made up)")
	if len(args) == 0 {
		return usageError{"sandbox shopify order: name an action: create, fulfill, in-transit, out-for-delivery, deliver, cancel or refund"}
	}
	action, rest := args[0], args[1:]
	var orderID string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		orderID, rest = rest[0], rest[1:]
	}
	if err := parseAllowingArgs(fs, rest); err != nil {
		return err
	}
	if orderID == "" && fs.NArg() > 0 {
		orderID = fs.Arg(0)
	}
	form := url.Values{}
	var path string
	switch action {
	case "create":
		if *customer == "" {
			*customer = demo.DefaultStorefrontCustomers()[0].ID
		}
		form.Set("customer", *customer)
		form.Set("quantity", fmt.Sprint(*quantity))
		path = "/admin/orders"
	case "fulfill", "in-transit", "out-for-delivery", "deliver", "cancel":
		if orderID == "" {
			return usageError{"sandbox shopify order " + action + ": give the order's id"}
		}
		if action == "deliver" {
			action = "delivered"
		}
		form.Set("carrier", *carrier)
		form.Set("tracking_number", *tracking)
		path = "/admin/orders/" + url.PathEscape(orderID) + "/" + action
	case "refund":
		if orderID == "" {
			return usageError{"sandbox shopify order refund: give the order's id"}
		}
		if *line != "" {
			form.Set("line", *line)
			form.Set("quantity", fmt.Sprint(*quantity))
		}
		form.Set("amount", *amount)
		if *restock {
			form.Set("restock", "1")
		}
		path = "/admin/orders/" + url.PathEscape(orderID) + "/refund"
	default:
		return usageError{"sandbox shopify order: unknown action " + action}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*base, "/")+path, strings.NewReader(form.Encode()))
	if err != nil {
		return usageError{err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reach the sandbox: %w", err)
	}
	defer res.Body.Close()
	var out struct {
		OrderID       string `json:"order_id"`
		FulfillmentID string `json:"fulfillment_id"`
		Error         string `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return fmt.Errorf("the sandbox answered %s", res.Status)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the sandbox refused: %s", out.Error)
	}
	fmt.Fprintln(e.stdout, out.OrderID)
	return nil
}
