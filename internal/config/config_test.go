package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/jobs"
)

// clearEnv removes every hubdesk variable and its _FILE twin for the test.
func clearEnv(t *testing.T) {
	for _, o := range Options {
		for _, name := range []string{o.Env, o.Env + "_FILE"} {
			t.Setenv(name, "") // restores the old value after the test
			os.Unsetenv(name)
		}
	}
}

func TestMetricsAddr(t *testing.T) {
	file := filepath.Join(t.TempDir(), "metrics-addr")
	if err := os.WriteFile(file, []byte("127.0.0.1:9191\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unset: loopback default", nil, DefaultMetricsAddr},
		{"set", map[string]string{"HUBDESK_METRICS_ADDR": "127.0.0.1:9999"}, "127.0.0.1:9999"},
		{"off", map[string]string{"HUBDESK_METRICS_ADDR": "off"}, ""},
		{"empty disables", map[string]string{"HUBDESK_METRICS_ADDR": ""}, ""},
		{"from its _FILE twin", map[string]string{"HUBDESK_METRICS_ADDR_FILE": file}, "127.0.0.1:9191"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			cfg, err := Load()
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if cfg.MetricsAddr != c.want {
				t.Fatalf("MetricsAddr = %q, want %q", cfg.MetricsAddr, c.want)
			}
		})
	}
	t.Run("not host:port", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("HUBDESK_METRICS_ADDR", "9090")
		cfg, err := Load()
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "HUBDESK_METRICS_ADDR") {
			t.Fatalf("want an error naming HUBDESK_METRICS_ADDR, got %v", err)
		}
	})
}

func TestWebhookRetention(t *testing.T) {
	cases := []struct {
		value string
		want  time.Duration
	}{
		{"", DefaultWebhookRetention},
		{"7d", 7 * 24 * time.Hour},
		{"36h", 36 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.value, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("HUBDESK_WEBHOOK_RETENTION", c.value)
			cfg, err := Load()
			if err != nil || cfg.WebhookRetention != c.want {
				t.Fatalf("Load = %v, %v; want %v", cfg.WebhookRetention, err, c.want)
			}
		})
	}
	for _, bad := range []string{"0d", "-1h", "thirty", "1.5d"} {
		t.Run(bad, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("HUBDESK_WEBHOOK_RETENTION", bad)
			if _, err := Load(); err == nil || !strings.Contains(err.Error(), "HUBDESK_WEBHOOK_RETENTION") {
				t.Fatalf("Load accepted %q: %v", bad, err)
			}
		})
	}
}

// The raw mail's and the finished jobs' retentions read like the
// webhooks', each from its _FILE twin too, with their own defaults.
func TestMailAndJobRetention(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mail-retention")
	if err := os.WriteFile(file, []byte("3d\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		env        map[string]string
		mail, jobs time.Duration
	}{
		{"defaults", nil, intake.DefaultMailRetention, jobs.DefaultCompletedRetention},
		{"set", map[string]string{"HUBDESK_MAIL_RETENTION": "48h", "HUBDESK_JOB_RETENTION": "7d"}, 48 * time.Hour, 7 * 24 * time.Hour},
		{"from a file", map[string]string{"HUBDESK_MAIL_RETENTION_FILE": file}, 3 * 24 * time.Hour, jobs.DefaultCompletedRetention},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			cfg, err := Load()
			if err != nil || cfg.MailRetention != c.mail || cfg.JobRetention != c.jobs {
				t.Fatalf("Load = mail %v, jobs %v, %v; want %v, %v", cfg.MailRetention, cfg.JobRetention, err, c.mail, c.jobs)
			}
		})
	}
	for _, name := range []string{"HUBDESK_MAIL_RETENTION", "HUBDESK_JOB_RETENTION"} {
		t.Run(name+" refused", func(t *testing.T) {
			clearEnv(t)
			t.Setenv(name, "0d")
			if _, err := Load(); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("Load accepted 0d: %v", err)
			}
		})
	}
}

func TestJobTimeout(t *testing.T) {
	cases := []struct {
		value string
		want  time.Duration
	}{
		{"", DefaultJobTimeout},
		{"90s", 90 * time.Second},
		{"2h", 2 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.value, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("HUBDESK_JOB_TIMEOUT", c.value)
			cfg, err := Load()
			if err != nil || cfg.JobTimeout != c.want {
				t.Fatalf("Load = %v, %v; want %v", cfg.JobTimeout, err, c.want)
			}
		})
	}
	for _, bad := range []string{"0s", "-5m", "5", "five minutes", "25h"} {
		t.Run(bad, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("HUBDESK_JOB_TIMEOUT", bad)
			if _, err := Load(); err == nil || !strings.Contains(err.Error(), "HUBDESK_JOB_TIMEOUT") {
				t.Fatalf("Load accepted %q: %v", bad, err)
			}
		})
	}
	if DefaultJobTimeout != 5*time.Minute {
		t.Fatalf("the documented default is 5m, the code says %v", DefaultJobTimeout)
	}
}

func TestMailSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "smtp-url")
	if err := os.WriteFile(file, []byte("smtps://desk:s3cret@mail.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		env     map[string]string
		mail    bool
		wantErr string
	}{
		{"unset: no mail", nil, false, ""},
		{"set", map[string]string{"HUBDESK_SMTP_URL": "smtp://desk:s3cret@mail.example.com:587", "HUBDESK_MAIL_FROM": "desk@example.com"}, true, ""},
		{"from its _FILE twin", map[string]string{"HUBDESK_SMTP_URL_FILE": file, "HUBDESK_MAIL_FROM": "Desk <desk@example.com>"}, true, ""},
		{"no sender", map[string]string{"HUBDESK_SMTP_URL": "smtp://desk:s3cret@mail.example.com"}, false, "HUBDESK_MAIL_FROM is not set"},
		{"not SMTP", map[string]string{"HUBDESK_SMTP_URL": "https://desk:s3cret@mail.example.com", "HUBDESK_MAIL_FROM": "desk@example.com"}, false, "HUBDESK_SMTP_RELAY"},
		{"relay", map[string]string{"HUBDESK_SMTP_RELAY": "smtps://desk:s3cret@mail.example.com", "HUBDESK_MAIL_FROM": "desk@example.com"}, true, ""},
		{"relay from its _FILE twin", map[string]string{"HUBDESK_SMTP_RELAY_FILE": file, "HUBDESK_MAIL_FROM": "desk@example.com"}, true, ""},
		{"relay wins over the older name", map[string]string{"HUBDESK_SMTP_RELAY": "ftp://x", "HUBDESK_SMTP_URL": "smtp://desk:s3cret@mail.example.com", "HUBDESK_MAIL_FROM": "desk@example.com"}, false, "HUBDESK_SMTP_RELAY"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			cfg, err := Load()
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error %v, want one naming %q without the password", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m, err := cfg.Mailer()
			if err != nil || (m != nil) != c.mail {
				t.Errorf("mailer %v, %v", m, err)
			}
		})
	}
}

func TestInboundMailSettings(t *testing.T) {
	cases := []struct {
		name       string
		env        map[string]string
		wantDomain string
		wantErr    string
	}{
		{"domain from the base URL", map[string]string{"HUBDESK_BASE_URL": "https://Desk.Example.com"}, "desk.example.com", ""},
		{"localhost for an IP base URL", map[string]string{"HUBDESK_ADDR": "127.0.0.1:8080"}, "localhost", ""},
		{"domain given", map[string]string{"HUBDESK_MAIL_DOMAIN": "Support.Example.com."}, "support.example.com", ""},
		{"bad domain", map[string]string{"HUBDESK_MAIL_DOMAIN": "a@b"}, "", "HUBDESK_MAIL_DOMAIN"},
		{"bad smtp address", map[string]string{"HUBDESK_SMTP_ADDR": "2525"}, "", "--smtp-addr"},
		{"certificate without key", map[string]string{"HUBDESK_SMTP_TLS_CERT": "/tmp/cert.pem"}, "", "go together"},
		{"poll interval too short", map[string]string{"HUBDESK_IMAP_POLL_INTERVAL": "1s"}, "", "HUBDESK_IMAP_POLL_INTERVAL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			cfg, err := Load()
			if err == nil {
				err = cfg.Validate()
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MailDomain != c.wantDomain {
				t.Errorf("mail domain %q, want %q", cfg.MailDomain, c.wantDomain)
			}
			if cfg.IMAPPollInterval != 30*time.Second {
				t.Errorf("IMAP poll interval %v, want the 30s default", cfg.IMAPPollInterval)
			}
		})
	}
}
