// Package config reads hubdesk's settings from environment variables, each
// with an optional *_FILE twin for secrets kept in files (Docker and
// systemd credentials). Flags on the command line override them.
package config

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/mail"
)

// Config is the process configuration. Runtime settings that merchants
// change (returns provider, hub on/off) live in the database instead.
type Config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	SecretKey   string
	BaseURL     string
	LogLevel    slog.Level
	LogFormat   string // "json" or "text"
	LoopBaseURL string
	// LoopAPIVersion is the dated Loop API version called (YYYY-MM).
	LoopAPIVersion string
	// LoopReconcileInterval is how often each shop's Loop returns are
	// reconciled with Loop's list.
	LoopReconcileInterval time.Duration
	// TrustedProxies name the reverse proxies whose X-Forwarded-For is
	// believed (login rate limiting counts the real client).
	TrustedProxies string
	// MetricsAddr is where /metrics is served, apart from the public
	// listener; empty when metrics are off.
	MetricsAddr string
	// Profiling adds Go's profiles (/debug/pprof/) to the metrics
	// listener, for finding where memory or CPU time goes in a running
	// server; off unless HUBDESK_PPROF=1.
	Profiling bool
	// WebhookRetention is how long processed webhook events are kept.
	WebhookRetention time.Duration
	// MailRetention is how long processed raw mail (the MIME a ticket was
	// read from) is kept.
	MailRetention time.Duration
	// JobRetention is how long completed background jobs stay listed.
	JobRetention time.Duration
	// JobTimeout is how long one attempt of a background job may run; a
	// job whose process died is run again RescueMargin after it.
	JobTimeout time.Duration
	// SMTPURL is the mail relay (smtp:// or smtps://; HUBDESK_SMTP_RELAY,
	// or HUBDESK_SMTP_URL, its older name); empty when
	// hubdesk sends no mail.
	SMTPURL string
	// MailFrom is the sender of hubdesk's mail.
	MailFrom string
	// SMTPAddr is where the built-in SMTP listener takes mail in; empty
	// when it is off.
	SMTPAddr string
	// SMTPTLSCert and SMTPTLSKey are the PEM files of the certificate the
	// listener offers through STARTTLS; both or neither.
	SMTPTLSCert, SMTPTLSKey string
	// MailDomain is the domain of the shops' built-in support addresses
	// (<handle>@MailDomain); by default the host of the base URL.
	MailDomain string
	// IMAPPollInterval is how often a mailbox whose server has no IDLE is
	// looked at.
	IMAPPollInterval time.Duration
	// ShopifyClientID and ShopifyClientSecret are hubdesk's public
	// Shopify app's. With both, merchants install the app (GET
	// /shopify/install?shop=…) and its secret verifies those shops; the
	// secret alone is only the default of `hubdesk shop create`.
	ShopifyClientID, ShopifyClientSecret string
	// ShopifyAdminURL replaces https://{shop} for every shop's token
	// endpoint and Admin API (development: `hubdesk sandbox shopify`).
	ShopifyAdminURL string
}

// DefaultMetricsAddr keeps /metrics on loopback, out of the public
// listener's reach, unless the operator says otherwise.
const DefaultMetricsAddr = "127.0.0.1:9090"

// DefaultWebhookRetention is the intake's own default (30 days).
const DefaultWebhookRetention = intake.DefaultRetention

// DefaultJobTimeout is the job queue's production default (5 minutes).
const DefaultJobTimeout = jobs.DefaultJobTimeout

// MaxJobTimeout bounds HUBDESK_JOB_TIMEOUT: a job of a dead process waits
// this long (plus the margin) before it runs again, so a typo such as
// "500h" must not hold webhooks back for weeks.
const MaxJobTimeout = 24 * time.Hour

// Option documents one environment variable.
type Option struct {
	Env, Default, Help string
	Secret             bool // may be given as ENV_FILE; never printed
}

// Options is the table the README's configuration section mirrors.
var Options = []Option{
	{Env: "HUBDESK_ADDR", Default: "127.0.0.1:8080", Help: "address to listen on (flag --addr)"},
	{Env: "HUBDESK_DATA_DIR", Default: ".", Help: "directory for the SQLite file and its generated secret key (flag --data)"},
	{Env: "HUBDESK_DATABASE_URL", Help: "postgres://… to use PostgreSQL (pool_max_conns=N in its query sets the pool size, by default three connections per core, at least 4); empty for embedded SQLite", Secret: true},
	{Env: "HUBDESK_SECRET_KEY", Help: "32-byte key (hex or base64) sealing secrets at rest; \"2:NEW,1:OLD\" to rotate; required with HUBDESK_DATABASE_URL (every process shares it), generated into the data directory for SQLite when unset", Secret: true},
	{Env: "HUBDESK_BASE_URL", Help: "public URL of this server, used in links and webhooks (default http://ADDR)"},
	{Env: "HUBDESK_LOOP_BASE_URL", Default: "https://api.loopreturns.com", Help: "Loop API host, without /api/VERSION (point it at `hubdesk sandbox loop` for development); one still ending in /api/v1 works, with a warning, and calls HUBDESK_LOOP_API_VERSION"},
	{Env: "HUBDESK_LOOP_API_VERSION", Default: "2026-07", Help: "Loop API version called, YYYY-MM (requests go to /api/VERSION/…; v1 is Loop's legacy alias)"},
	{Env: "HUBDESK_LOOP_RECONCILE_INTERVAL", Default: "15m", Help: "how often each shop's Loop returns are reconciled with Loop's returns list (a Go duration, 1m to 24h)"},
	{Env: "HUBDESK_TRUSTED_PROXIES", Help: "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For names the client"},
	{Env: "HUBDESK_METRICS_ADDR", Default: DefaultMetricsAddr, Help: "address serving Prometheus /metrics, apart from HUBDESK_ADDR; \"off\" (or empty) disables it (flag --metrics-addr)"},
	{Env: "HUBDESK_PPROF", Help: "1: also serve Go's profiles (/debug/pprof/: heap, CPU, goroutines) on HUBDESK_METRICS_ADDR, never on the public address; off by default"},
	{Env: "HUBDESK_WEBHOOK_RETENTION", Default: "30d", Help: "how long processed webhook events are kept: days (\"30d\") or a Go duration (\"72h\")"},
	{Env: "HUBDESK_MAIL_RETENTION", Default: "7d", Help: "how long raw mail is kept once read into a ticket (the ticket keeps its text and files): days (\"7d\") or a Go duration"},
	{Env: "HUBDESK_JOB_RETENTION", Default: "24h", Help: "how long completed background jobs stay listed under Settings → Jobs: days or a Go duration (dead and cancelled ones are kept 7 days)"},
	{Env: "HUBDESK_JOB_TIMEOUT", Default: "5m", Help: "how long one attempt of a background job (webhook processing, mail, sync) may run before it is cancelled and retried; a job left running by a process that died runs again 1m after this (a Go duration, at most 24h)"},
	{Env: "HUBDESK_SMTP_RELAY", Help: "SMTP relay for all outgoing mail (replies to shoppers, acknowledgements, invitations, password resets, agents' notifications): smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465 (TLS); empty: no mail, the desk shows links to copy and replies stay in the desk and hub", Secret: true},
	{Env: "HUBDESK_SMTP_URL", Help: "older name of HUBDESK_SMTP_RELAY, still read when that is unset", Secret: true},
	{Env: "HUBDESK_MAIL_FROM", Help: "sender of hubdesk's mail, e.g. \"hubdesk <no-reply@example.com>\" (the shop's name is shown as the sender's name); required with HUBDESK_SMTP_RELAY"},
	{Env: "HUBDESK_SMTP_ADDR", Help: "address of the built-in SMTP listener taking mail in for the shops' support addresses, e.g. :25 or 127.0.0.1:2525; empty: off (flag --smtp-addr)"},
	{Env: "HUBDESK_SMTP_TLS_CERT", Help: "PEM certificate (chain) the SMTP listener offers through STARTTLS; with HUBDESK_SMTP_TLS_KEY"},
	{Env: "HUBDESK_SMTP_TLS_KEY", Help: "PEM private key of HUBDESK_SMTP_TLS_CERT", Secret: true},
	{Env: "HUBDESK_MAIL_DOMAIN", Help: "domain of the shops' built-in support addresses, <shop handle>@DOMAIN (its MX must point at the SMTP listener); default: the host of HUBDESK_BASE_URL, or localhost when that is an IP address"},
	{Env: "HUBDESK_IMAP_POLL_INTERVAL", Default: "30s", Help: "how often a shop's IMAP mailbox is looked at when its server has no IDLE (a Go duration, 5s to 1h)"},
	{Env: "HUBDESK_SHOPIFY_CLIENT_ID", Help: "client id of hubdesk's public Shopify app; with HUBDESK_SHOPIFY_CLIENT_SECRET, merchants install it from /shopify/install?shop=STORE.myshopify.com (the app's redirect URL: BASE_URL/shopify/callback)"},
	{Env: "HUBDESK_SHOPIFY_CLIENT_SECRET", Help: "client secret of hubdesk's public Shopify app: verifies the install, the App Proxy and the webhooks of every shop installed through it; also the default of `hubdesk shop create/secret --client-secret`", Secret: true},
	{Env: "HUBDESK_SHOPIFY_ADMIN_URL", Help: "development only: the root every shop's Shopify admin is reached at instead of https://STORE.myshopify.com (point it at `hubdesk sandbox shopify`)"},
	{Env: "HUBDESK_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error"},
	{Env: "HUBDESK_LOG_FORMAT", Help: "json or text (default json for serve, text for demo)"},
}

// Load reads the environment.
func Load() (*Config, error) {
	c := &Config{}
	var err error
	get := func(name string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = lookup(name)
		return v
	}
	c.Addr = orDefault(get("HUBDESK_ADDR"), "127.0.0.1:8080")
	c.DataDir = orDefault(get("HUBDESK_DATA_DIR"), ".")
	c.DatabaseURL = get("HUBDESK_DATABASE_URL")
	c.SecretKey = get("HUBDESK_SECRET_KEY")
	c.BaseURL = get("HUBDESK_BASE_URL")
	c.LogFormat = get("HUBDESK_LOG_FORMAT")
	c.LoopBaseURL = get("HUBDESK_LOOP_BASE_URL")
	c.LoopAPIVersion = orDefault(get("HUBDESK_LOOP_API_VERSION"), loop.DefaultAPIVersion)
	reconcile := orDefault(get("HUBDESK_LOOP_RECONCILE_INTERVAL"), "15m")
	c.TrustedProxies = get("HUBDESK_TRUSTED_PROXIES")
	c.MetricsAddr = get("HUBDESK_METRICS_ADDR")
	if c.MetricsAddr == "" && !isSet("HUBDESK_METRICS_ADDR") {
		c.MetricsAddr = DefaultMetricsAddr
	}
	c.Profiling = get("HUBDESK_PPROF") == "1"
	c.SMTPURL = get("HUBDESK_SMTP_RELAY")
	if c.SMTPURL == "" {
		c.SMTPURL = get("HUBDESK_SMTP_URL")
	}
	c.MailFrom = get("HUBDESK_MAIL_FROM")
	c.SMTPAddr = get("HUBDESK_SMTP_ADDR")
	c.SMTPTLSCert = get("HUBDESK_SMTP_TLS_CERT")
	c.SMTPTLSKey = get("HUBDESK_SMTP_TLS_KEY")
	c.MailDomain = get("HUBDESK_MAIL_DOMAIN")
	c.ShopifyClientID = get("HUBDESK_SHOPIFY_CLIENT_ID")
	c.ShopifyClientSecret = get("HUBDESK_SHOPIFY_CLIENT_SECRET")
	c.ShopifyAdminURL = get("HUBDESK_SHOPIFY_ADMIN_URL")
	imapPoll := orDefault(get("HUBDESK_IMAP_POLL_INTERVAL"), "30s")
	retention := orDefault(get("HUBDESK_WEBHOOK_RETENTION"), "30d")
	mailRetention := orDefault(get("HUBDESK_MAIL_RETENTION"), "7d")
	jobRetention := orDefault(get("HUBDESK_JOB_RETENTION"), "24h")
	jobTimeout := orDefault(get("HUBDESK_JOB_TIMEOUT"), "5m")
	level := orDefault(get("HUBDESK_LOG_LEVEL"), "info")
	if err != nil {
		return nil, err
	}
	if c.WebhookRetention, err = parseRetention(retention); err != nil {
		return nil, fmt.Errorf("HUBDESK_WEBHOOK_RETENTION: %w", err)
	}
	if c.MailRetention, err = parseRetention(mailRetention); err != nil {
		return nil, fmt.Errorf("HUBDESK_MAIL_RETENTION: %w", err)
	}
	if c.JobRetention, err = parseRetention(jobRetention); err != nil {
		return nil, fmt.Errorf("HUBDESK_JOB_RETENTION: %w", err)
	}
	if c.JobTimeout, err = parseJobTimeout(jobTimeout); err != nil {
		return nil, fmt.Errorf("HUBDESK_JOB_TIMEOUT: %w", err)
	}
	if c.IMAPPollInterval, err = time.ParseDuration(imapPoll); err != nil || c.IMAPPollInterval < 5*time.Second || c.IMAPPollInterval > time.Hour {
		return nil, fmt.Errorf("HUBDESK_IMAP_POLL_INTERVAL: %q is not a duration from 5s to 1h", imapPoll)
	}
	if !loop.IsDatedVersion(c.LoopAPIVersion) {
		return nil, fmt.Errorf("HUBDESK_LOOP_API_VERSION: %q is not a dated version like %s", c.LoopAPIVersion, loop.DefaultAPIVersion)
	}
	if c.LoopReconcileInterval, err = time.ParseDuration(reconcile); err != nil || c.LoopReconcileInterval < time.Minute || c.LoopReconcileInterval > 24*time.Hour {
		return nil, fmt.Errorf("HUBDESK_LOOP_RECONCILE_INTERVAL: %q is not a duration from 1m to 24h", reconcile)
	}
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("HUBDESK_LOG_LEVEL: %q is not debug, info, warn or error", level)
	}
	return c, nil
}

// lookup reads NAME, or the file named by NAME_FILE.
func lookup(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return strings.TrimSpace(v), nil
	}
	path := os.Getenv(name + "_FILE")
	if path == "" {
		return "", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	return strings.TrimSpace(string(data)), nil
}

// isSet reports whether NAME or NAME_FILE is in the environment, even
// empty: for settings where empty means "off" rather than "the default".
func isSet(name string) bool {
	_, set := os.LookupEnv(name)
	_, fileSet := os.LookupEnv(name + "_FILE")
	return set || fileSet
}

// Validate checks the combination of settings, after flags are applied.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("address %q: want host:port", c.Addr)
	}
	if c.MetricsAddr == "off" {
		c.MetricsAddr = ""
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("HUBDESK_METRICS_ADDR %q: want host:port, or off", c.MetricsAddr)
		}
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return fmt.Errorf("HUBDESK_DATABASE_URL must start with postgres:// (leave it empty for the embedded SQLite database)")
	}
	if c.DatabaseURL != "" {
		if _, err := url.Parse(c.DatabaseURL); err != nil {
			return fmt.Errorf("HUBDESK_DATABASE_URL is not a valid URL")
		}
		// Several processes share a PostgreSQL database; a key generated
		// into one's data directory would seal secrets the others cannot open.
		if c.SecretKey == "" {
			return fmt.Errorf("HUBDESK_DATABASE_URL is set but HUBDESK_SECRET_KEY (or HUBDESK_SECRET_KEY_FILE) is not: every process on one database must be given the same key")
		}
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("HUBDESK_BASE_URL %q: want http(s)://host[:port]", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if _, err := auth.ParseProxies(c.TrustedProxies); err != nil {
		return fmt.Errorf("HUBDESK_TRUSTED_PROXIES: %w", err)
	}
	if c.SMTPURL != "" {
		if _, err := c.Mailer(); err != nil {
			return err
		}
	}
	if c.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.SMTPAddr); err != nil {
			return fmt.Errorf("--smtp-addr (HUBDESK_SMTP_ADDR) %q: want host:port", c.SMTPAddr)
		}
	}
	// The secret alone is allowed: `hubdesk shop create/secret` have
	// long read it as the shops' default secret. Installs need both.
	if c.ShopifyClientID != "" && c.ShopifyClientSecret == "" {
		return fmt.Errorf("HUBDESK_SHOPIFY_CLIENT_ID is set but HUBDESK_SHOPIFY_CLIENT_SECRET is not: the public app's install needs both")
	}
	if c.ShopifyAdminURL != "" {
		if au, err := url.Parse(c.ShopifyAdminURL); err != nil || (au.Scheme != "http" && au.Scheme != "https") || au.Host == "" {
			return fmt.Errorf("HUBDESK_SHOPIFY_ADMIN_URL %q: want http(s)://host[:port]", c.ShopifyAdminURL)
		}
	}
	if (c.SMTPTLSCert == "") != (c.SMTPTLSKey == "") {
		return fmt.Errorf("HUBDESK_SMTP_TLS_CERT and HUBDESK_SMTP_TLS_KEY go together: give both or neither")
	}
	if c.MailDomain == "" {
		c.MailDomain = "localhost"
		if host := u.Hostname(); host != "" && net.ParseIP(host) == nil {
			c.MailDomain = host
		}
	}
	c.MailDomain = strings.ToLower(strings.TrimSuffix(c.MailDomain, "."))
	if strings.ContainsAny(c.MailDomain, "@/: \t") {
		return fmt.Errorf("HUBDESK_MAIL_DOMAIN %q: want a domain such as support.example.com", c.MailDomain)
	}
	if c.LogFormat != "" && c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("HUBDESK_LOG_FORMAT: %q is not json or text", c.LogFormat)
	}
	return nil
}

// Mailer is the mail relay to send through, or nil when
// HUBDESK_SMTP_RELAY (HUBDESK_SMTP_URL) is not set. Its errors never repeat the URL, which holds a password.
func (c *Config) Mailer() (*mail.SMTP, error) {
	if c.SMTPURL == "" {
		return nil, nil
	}
	m, err := mail.NewSMTP(c.SMTPURL, c.MailFrom)
	if err != nil {
		return nil, fmt.Errorf("HUBDESK_SMTP_RELAY: %w", err)
	}
	return m, nil
}

// SMTPTLS is the listener's STARTTLS configuration from the certificate
// files, or nil when none are given.
func (c *Config) SMTPTLS() (*tls.Config, error) {
	if c.SMTPTLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.SMTPTLSCert, c.SMTPTLSKey)
	if err != nil {
		return nil, fmt.Errorf("HUBDESK_SMTP_TLS_CERT/KEY: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// SecureCookies is true when the public URL is HTTPS.
func (c *Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// parseRetention reads whole days ("30d") or a Go duration ("72h"); it
// must be positive.
func parseRetention(v string) (time.Duration, error) {
	var d time.Duration
	if days, isDays := strings.CutSuffix(v, "d"); isDays {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number of days", v)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("%q is neither days (30d) nor a duration (72h)", v)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: want a positive retention", v)
	}
	return d, nil
}

// parseJobTimeout reads a Go duration ("5m", "90s"), positive and at most
// MaxJobTimeout.
func parseJobTimeout(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration such as 5m or 90s", v)
	case d <= 0:
		return 0, fmt.Errorf("%q: want a positive timeout", v)
	case d > MaxJobTimeout:
		return 0, fmt.Errorf("%q: at most %s", v, MaxJobTimeout)
	}
	return d, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
