// Package e2e drives hubdesk as people use it: the real binary started as
// `hubdesk demo`, pages opened in headless Chromium, clicks done.
//
// Chromium is found at $HUBDESK_CHROMIUM or /usr/bin/chromium. Without it
// the tests skip on a developer's machine and fail when CI=true.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	hubdemo "github.com/hubdesk/hubdesk/internal/demo"
	loopsandbox "github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/testlog"
)

var hubdeskBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hubdesk-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hubdeskBin = filepath.Join(dir, "hubdesk")
	build := exec.Command("go", "build", "-o", hubdeskBin, "../cmd/hubdesk")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build hubdesk:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Demo is a running `hubdesk demo`.
type Demo struct {
	BaseURL  string
	DataDir  string
	APIToken string
	Banner   string
	// StorefrontURL is the Shopify storefront sandbox in front of the
	// demo (no trailing slash); ShopperHubURL logs the demo shopper in
	// there and lands on the hub through the App Proxy.
	StorefrontURL string
	ShopperHubURL string
	// LoopURL is the Loop sandbox's root (its portal is under /portal/).
	LoopURL string
	// ReturnsTicketURL is the returns showcase's ticket.
	ReturnsTicketURL string
}

var (
	deskURLPattern       = regexp.MustCompile(`Desk\s+(http://\S+)/login`)
	apiTokenPattern      = regexp.MustCompile(`Bearer (hd_[A-Za-z0-9_-]+)`)
	storefrontURLPattern = regexp.MustCompile(`Storefront\s+(http://\S+?)/?\s`)
	shopperHubPattern    = regexp.MustCompile(`Shopper hub\s+(http://\S+)`)
	loopURLPattern       = regexp.MustCompile(`Loop sandbox\s+(http://\S+)/api/[0-9a-z-]+\s`)
	returnsTicketPattern = regexp.MustCompile(`Returns ticket\s+(http://\S+/tickets/[0-9]+)\s`)
)

// StartDemo runs the real binary's demo on a free port with its own data
// directory and stops it (SIGTERM, as an operator would) when the test ends.
func StartDemo(t *testing.T, extraEnv ...string) *Demo {
	t.Helper()
	return StartDemoWith(t, nil, extraEnv...)
}

// StartDemoWith is StartDemo with more flags for `hubdesk demo`.
func StartDemoWith(t *testing.T, flags []string, extraEnv ...string) *Demo {
	t.Helper()
	d := &Demo{DataDir: t.TempDir()}
	cmd := exec.Command(hubdeskBin, append([]string{"demo", "--addr", "127.0.0.1:0", "--data", d.DataDir}, flags...)...)
	cmd.Env = append(os.Environ(), extraEnv...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(d.DataDir, "demo.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo did not shut down cleanly: %v", err)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Error("demo did not stop within 20 s of SIGTERM")
		}
		logFile.Close()
		// No secret the demo holds may reach its log: the API token it
		// printed, the App Proxy's client secret, the Shopify Admin API
		// token it connected with, the Loop key and webhook
		// secret it sealed. The in-process Loop sandbox announces the keys
		// it accepts, as it does standalone; its own lines are left out.
		if log, err := os.ReadFile(logFile.Name()); err == nil {
			var hubdeskLines []string
			for _, line := range strings.Split(string(log), "\n") {
				if !strings.Contains(line, "component=loop-sandbox") {
					hubdeskLines = append(hubdeskLines, line)
				}
			}
			if leaked := testlog.Find(strings.Join(hubdeskLines, "\n"), d.APIToken, hubdemo.ClientSecret, hubdemo.AdminToken, loopsandbox.KeyFull, loopsandbox.DefaultWebhookSecret); len(leaked) > 0 {
				t.Errorf("the demo logged secrets: %s", strings.Join(testlog.Mask(leaked), ", "))
			}
		}
		if t.Failed() {
			if log, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("demo log:\n%s", log)
			}
		}
	})
	banner := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Press Ctrl+C") {
				banner <- b.String()
				io.Copy(io.Discard, stdout)
				return
			}
		}
		banner <- b.String()
	}()
	select {
	case d.Banner = <-banner:
	case <-time.After(60 * time.Second):
		t.Fatal("demo did not print its banner within 60 s")
	}
	m := deskURLPattern.FindStringSubmatch(d.Banner)
	if m == nil {
		t.Fatalf("no desk URL in the demo banner:\n%s", d.Banner)
	}
	d.BaseURL = m[1]
	if m := apiTokenPattern.FindStringSubmatch(d.Banner); m != nil {
		d.APIToken = m[1]
	}
	for _, p := range []struct {
		re   *regexp.Regexp
		into *string
	}{{storefrontURLPattern, &d.StorefrontURL}, {shopperHubPattern, &d.ShopperHubURL}, {loopURLPattern, &d.LoopURL}, {returnsTicketPattern, &d.ReturnsTicketURL}} {
		m := p.re.FindStringSubmatch(d.Banner)
		if m == nil {
			t.Fatalf("the demo banner has no match for %s:\n%s", p.re, d.Banner)
		}
		*p.into = m[1]
	}
	resp, err := http.Get(d.BaseURL + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("demo not ready: %v %v", resp, err)
	}
	resp.Body.Close()
	return d
}

// chromiumPath finds the browser, or skips (fails in CI) without one.
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("HUBDESK_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	msg := "browser tests need Chromium (apt-get install chromium, or set HUBDESK_CHROMIUM)"
	if os.Getenv("CI") == "true" {
		t.Fatal("required in CI: " + msg)
	}
	t.Skip(msg)
	return ""
}

// NewBrowser starts a fresh headless Chromium (its own profile) and returns
// a context for chromedp actions; it is closed when the test ends.
func NewBrowser(t *testing.T) context.Context {
	t.Helper()
	return NewBrowserFor(t, 90*time.Second)
}

// NewBrowserFor is NewBrowser for a test that walks many pages: the
// browser is given up after lifetime instead of 90 s.
func NewBrowserFor(t *testing.T, lifetime time.Duration) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	timeoutCtx, cancelTimeout := context.WithTimeout(ctx, lifetime)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(timeoutCtx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return timeoutCtx
}

// LoginAs signs in through the login form.
func LoginAs(t *testing.T, ctx context.Context, baseURL, email, password string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(baseURL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("aside.side")),
	)
	if err != nil {
		t.Fatalf("log in as %s: %v", email, err)
	}
}

// Screenshot saves a full-page PNG under e2e/artifacts for people to look at.
func Screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	saveArtifact(t, name, png)
}

// ViewportScreenshot saves what the window shows, for overlays such as a
// drawer, which a full-page capture would stretch over the whole page.
func ViewportScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	saveArtifact(t, name, png)
}

func saveArtifact(t *testing.T, name string, png []byte) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "artifacts")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
