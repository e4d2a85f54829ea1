package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// lookUpOrder fills the guest lookup form the browser shows and waits for
// its answer.
func lookUpOrder(t *testing.T, ctx context.Context, order, email string) string {
	t.Helper()
	err := chromedp.Do(step(t, ctx),
		chromedp.WaitVisible(chromedp.ID("guest-order")),
		chromedp.SetValue(chromedp.ID("guest-order"), order),
		chromedp.SetValue(chromedp.ID("guest-email"), email),
		chromedp.Click(chromedp.ID("guest-submit")),
		chromedp.WaitVisible(`//*[@id="guest-sent" or @id="guest-error"]`),
	)
	if err != nil {
		t.Fatalf("look up %s for %s: %v", order, email, err)
	}
	return bodyText(t, ctx)
}

// openGuestForm goes to the storefront's hub as a visitor who is not
// logged in and follows the login page's link to the lookup.
func openGuestForm(t *testing.T, ctx context.Context, demo *Demo) {
	t.Helper()
	err := chromedp.Do(step(t, ctx),
		chromedp.Navigate(demo.StorefrontURL+"/apps/hub"),
		chromedp.WaitVisible(`//a[contains(., "Find your order")]`),
		chromedp.Click(`//a[contains(., "Find your order")]`),
		chromedp.WaitVisible(chromedp.ID("guest-order")),
	)
	if err != nil {
		t.Fatalf("open the guest lookup from the storefront: %v", err)
	}
	if loc := waitForLocation(t, ctx, demo.StorefrontURL+"/apps/hub/guest"); loc == "" {
		t.Fatal("the guest lookup is not on the storefront's App Proxy")
	}
}

// A shopper who checked out without an account looks an order up through
// the storefront: a wrong address, an order that does not exist and the
// right pair all get the same answer, and only the right pair a mail (over
// SMTP). The mailed link survives a mail scanner's fetch and shows a
// button, which opens that order alone; a second open is refused;
// Start a return and Contact support work from it; repeated lookups hit
// the rate limit.
func TestGuestLooksAnOrderUpByMail(t *testing.T) {
	demo, smtp := startDemoWithMail(t)
	delivered := newestWithStatus(t, shopperOrders(t, demo), "delivered")
	ctx := NewBrowser(t)
	consoleErrors := ConsoleErrors(t, ctx)

	openGuestForm(t, ctx, demo)
	AuditAccessibility(t, ctx, "hub guest lookup")
	Screenshot(t, ctx, "hub-guest-lookup")
	wrong := lookUpOrder(t, ctx, delivered.Name, "someone.else@example.com")
	openGuestForm(t, ctx, demo)
	unknown := lookUpOrder(t, ctx, "#999999", delivered.Email)
	openGuestForm(t, ctx, demo)
	right := lookUpOrder(t, ctx, strings.TrimPrefix(delivered.Name, "#"), strings.ToUpper(delivered.Email))
	if !strings.Contains(right, "Check your email") || wrong != right || unknown != right {
		t.Fatalf("the lookups answered differently:\nwrong email: %s\nunknown order: %s\nright: %s", wrong, unknown, right)
	}
	AuditAccessibility(t, ctx, "hub guest lookup sent")
	Screenshot(t, ctx, "hub-guest-sent")

	mail := smtp.WaitFor(t, delivered.Email, 1)
	if !strings.Contains(mail.Subject, delivered.Name) {
		t.Errorf("the mail's subject: %q", mail.Subject)
	}
	link := mail.Link(t, "/hub/guest/open")
	if !strings.HasPrefix(link, demo.BaseURL+"/hub/guest/open?") {
		t.Fatalf("the link %s is not on hubdesk's own address %s", link, demo.BaseURL)
	}
	// A mail security scanner fetches the link before the shopper clicks;
	// the link's page uses nothing up.
	for range 2 {
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("a scanner's fetch of the mailed link: %d", resp.StatusCode)
		}
	}
	err := chromedp.Do(step(t, ctx), chromedp.Navigate(link), chromedp.WaitVisible(`//h1[contains(., "View your order `+delivered.Name+`")]`))
	if err != nil {
		t.Fatalf("open the mailed link: %v\n%s", err, bodyText(t, ctx))
	}
	before := bodyText(t, ctx)
	for _, unwanted := range []string{delivered.Email, "Start a return", "Contact support", "Tracking"} {
		if strings.Contains(before, unwanted) {
			t.Errorf("the link's page shows %q before its button", unwanted)
		}
	}
	AuditAccessibility(t, ctx, "hub guest link")
	Screenshot(t, ctx, "hub-guest-link")
	err = chromedp.Do(step(t, ctx), chromedp.Click(chromedp.ID("guest-open")), chromedp.WaitVisible(orderHeading("Order "+delivered.Name)))
	if err != nil {
		t.Fatalf("the link's button: %v\n%s", err, bodyText(t, ctx))
	}
	orderURL := waitForLocation(t, ctx, demo.BaseURL+"/hub/guest/order?")
	if orderURL == "" {
		t.Fatal("the link did not land on the guest's order page")
	}
	text := bodyText(t, ctx)
	for _, unwanted := range []string{"All orders", "Messages", "Account"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("the guest's order page offers %q: a guest link opens that order alone", unwanted)
		}
	}
	AuditAccessibility(t, ctx, "hub guest order")
	Screenshot(t, ctx, "hub-guest-order")

	if err := chromedp.Do(step(t, ctx), chromedp.Navigate(link), chromedp.WaitVisible(`//h1[contains(., "This link no longer works")]`)); err != nil {
		t.Fatalf("the link opened twice: %v\n%s", err, bodyText(t, ctx))
	}
	AuditAccessibility(t, ctx, "hub guest link used")

	// Contact support from the order: a ticket for the order's email.
	err = chromedp.Do(step(t, ctx),
		chromedp.Navigate(orderURL),
		chromedp.WaitVisible(chromedp.ID("contact-message")),
		chromedp.SendKeys(chromedp.ID("contact-message"), "Can I swap these for size L?"),
		chromedp.Submit(chromedp.ID("contact-message")),
		chromedp.WaitVisible(`//p[contains(@class, "note ok")]`),
	)
	if err != nil {
		t.Fatalf("contact support as a guest: %v", err)
	}
	var tickets struct {
		Items []struct {
			Subject string `json:"subject"`
		} `json:"items"`
	}
	apiGet(t, demo, "/api/v1/tickets?limit=100", &tickets)
	found := false
	for _, tk := range tickets.Items {
		found = found || strings.Contains(tk.Subject, delivered.Name+": Can I swap these for size L?")
	}
	if !found {
		t.Errorf("no ticket for the guest's message: %+v", tickets.Items)
	}

	// Start a return: on to the Loop sandbox's portal.
	err = chromedp.Do(step(t, ctx), chromedp.Navigate(orderURL), chromedp.Click(startReturnControl("Start a return")))
	if err != nil {
		t.Fatalf("Start a return as a guest: %v", err)
	}
	if loc := waitForLocation(t, ctx, demo.LoopURL+"/portal/"); loc == "" {
		t.Fatalf("Start a return did not land on the Loop sandbox's portal")
	}

	// The same address looked up again and again: the form says to wait.
	limited := false
	for i := 0; i < 6 && !limited; i++ {
		openGuestForm(t, ctx, demo)
		limited = strings.Contains(lookUpOrder(t, ctx, fmt.Sprint("#", 1000+i), delivered.Email), "Too many lookups")
	}
	if !limited {
		t.Fatal("the lookups were never limited")
	}
	AuditAccessibility(t, ctx, "hub guest lookup limited")
	// The used link (410) and the limited lookup (429) answer with their
	// status, which the browser notes; anything else is a fault.
	var errs []string
	for _, e := range consoleErrors() {
		if !strings.Contains(e, "status of 410") && !strings.Contains(e, "status of 429") {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// The Account tab: the shopper's name, email and default address as her
// country writes it, and the store's own account pages, which open in the
// whole window.
func TestShopperAccountTab(t *testing.T) {
	demo := StartDemo(t)
	ctx := NewBrowser(t)
	openHub(t, ctx, demo, "")
	err := chromedp.Do(step(t, ctx),
		chromedp.Click(`//header//a[normalize-space(.)="Account"]`),
		chromedp.WaitVisible(`//h1[contains(., "Your account")]`),
	)
	if err != nil {
		t.Fatalf("open the Account tab: %v", err)
	}
	// The shopper's address arrives with the refresh from Shopify the hub
	// asked for; the page shows it once it is there.
	var text string
	for i := 0; i < 50; i++ {
		text = bodyText(t, ctx)
		if strings.Contains(text, "Portland") {
			break
		}
		chromedp.Do(step(t, ctx), chromedp.Sleep(200*time.Millisecond), chromedp.Reload(), chromedp.WaitVisible(`//h1[contains(., "Your account")]`))
	}
	for _, want := range []string{"Olivia Johnson", "olivia.johnson", "Portland", "United States", "Your addresses", "Account details in the store"} {
		if !strings.Contains(text, want) {
			t.Errorf("the Account tab lacks %q:\n%s", want, text)
		}
	}
	for _, href := range []string{"/account", "/account/addresses"} {
		if n := countMatches(t, ctx, fmt.Sprintf(`//main//a[@href=%q][@target="_top"]`, href)); n != 1 {
			t.Errorf("%d links to the store's %s opening in the whole window", n, href)
		}
	}
	AuditAccessibility(t, ctx, "hub account")
	Screenshot(t, ctx, "hub-account")
	err = chromedp.Do(step(t, ctx), chromedp.Click(`//a[contains(., "Your addresses")]`), chromedp.WaitVisible(`//h1[contains(., "Addresses")]`))
	if err != nil {
		t.Fatalf("the store's addresses page: %v", err)
	}
	if loc := waitForLocation(t, ctx, demo.StorefrontURL+"/account/addresses"); loc == "" {
		t.Error("the addresses link did not open the storefront's page")
	}
}
