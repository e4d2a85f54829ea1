package mailin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// Handler is the intake's handler for email events: it reads the raw
// mail and files it through helpdesk.FromMail in the transaction that
// marks the event processed, so a mail is filed exactly when its event is
// done. What it made of the mail — filed on ticket 12, or why nothing
// (an auto-reply, a duplicate, a blocked sender) — is kept on the event.
// A mail that cannot be read fails the event for good (intake.Permanent),
// its reason on the event and on the dead job; the raw mail stays.
type Handler struct {
	Tickets *helpdesk.Tickets
	Logger  *slog.Logger // discarded when nil
}

// Handle files the event's mail.
func (h Handler) Handle(ctx context.Context, tx *database.Tx, ev *intake.Event) error {
	_, err := h.HandleOutcome(ctx, tx, ev)
	return err
}

// HandleOutcome files the event's mail and says what came of it.
func (h Handler) HandleOutcome(ctx context.Context, tx *database.Tx, ev *intake.Event) (string, error) {
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := Parse(ev.Body)
	if err != nil {
		log.WarnContext(ctx, "mailin: mail cannot be read", "event", ev.ID, "shop", ev.ShopID, "topic", ev.Topic, "err", err)
		return "", intake.Permanent(err)
	}
	in := helpdesk.MailIn{MessageID: m.MessageID, Thread: m.Thread, FromEmail: m.From.Email, FromName: m.From.Name,
		Subject: m.Subject, Body: m.Text, BodyHTML: m.HTML, NotKept: m.Dropped, Automated: m.Automated}
	for _, f := range m.Files {
		in.Files = append(in.Files, attachment.Upload{Filename: f.Filename, Data: f.Data, ContentID: f.ContentID})
	}
	out, err := h.Tickets.With(tx).FromMail(ctx, ev.ShopID, in)
	var invalid *ticket.ValidationError
	if errors.As(err, &invalid) {
		// The mail will not change: retrying cannot file it.
		log.WarnContext(ctx, "mailin: mail refused", "event", ev.ID, "shop", ev.ShopID, "err", err)
		return "", intake.Permanent(fmt.Errorf("%w: %w", ErrMalformed, err))
	}
	if err != nil {
		return "", err
	}
	var outcome string
	switch {
	case out.Skipped != "":
		outcome = "no ticket: " + out.Skipped
	case out.Created:
		outcome = fmt.Sprintf("opened ticket %d", out.Ticket.ID)
	default:
		outcome = fmt.Sprintf("added to ticket %d", out.Ticket.ID)
	}
	log.InfoContext(ctx, "mailin: "+outcome, "event", ev.ID, "shop", ev.ShopID, "topic", ev.Topic)
	return outcome, nil
}
