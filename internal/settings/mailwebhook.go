package settings

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
)

// MailWebhookToken returns the token of the shop's inbound mail webhook;
// "" when none was made. A token sealed with a key this process lacks is
// secret.ErrUnreadable: a new one must be made.
func (e *Editor) MailWebhookToken(ctx context.Context, shopID int64) (string, error) {
	c, err := e.connections.Get(ctx, shopID, connection.ProviderMailWebhook)
	if errors.Is(err, connection.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return c.Credentials, nil
}

// NewMailWebhookToken makes a new random token for the shop's inbound
// mail webhook (256 bits, URL-safe), sealed like every secret; the old
// one stops working when this commits. Audited as a settings change,
// never with the token.
func (e *Editor) NewMailWebhookToken(ctx context.Context, shopID int64, actor audit.Actor) (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(buf)
	err := e.db.InTx(ctx, func(tx *database.Tx) error {
		if err := e.connections.With(tx).Save(ctx, shopID, &connection.Connection{Provider: connection.ProviderMailWebhook,
			Credentials: token, Status: connection.StatusUnverified}, e.now()); err != nil {
			return err
		}
		return e.audit.With(tx).Record(ctx, shopID, audit.Entry{Actor: actor, Action: audit.ActionSettingsChanged,
			Subject: "mail webhook", Outcome: audit.OutcomeOK, Details: map[string]any{"fields": []string{"mail_webhook_token"}}})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}
