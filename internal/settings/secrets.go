package settings

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/shop"
)

// Secrets finds the stored secrets this process cannot open: sealed with a
// key version it is not given, or with another key altogether, as when the
// processes on one database were not all given the same HUBDESK_SECRET_KEY.
// Such a value stays stored untouched; it names it, never its value.
type Secrets struct {
	Shops       *shop.Store
	Connections *connection.Store
}

// What cannot be read, as the settings page and the start-up warning name it.
const (
	UnreadableClientSecret = "Shopify client secret"
	UnreadableLoopKey      = "Loop API key (Settings → Returns)"
	UnreadableLoopWebhook  = "Loop webhook secret (Settings → Returns)"
	UnreadableShopify      = "Shopify credentials (Settings → Shopify)"
)

// Unreadable names the shop's stored secrets this process cannot open;
// none when every one opens.
func (s Secrets) Unreadable(ctx context.Context, shopID int64) ([]string, error) {
	var names []string
	_, err := s.Shops.ClientSecret(ctx, shopID)
	switch {
	case errors.Is(err, secret.ErrUnreadable):
		names = append(names, UnreadableClientSecret)
	case err != nil:
		return nil, err
	}
	for _, c := range []struct {
		provider connection.Provider
		name     string
	}{{connection.ProviderLoop, UnreadableLoopKey}, {connection.ProviderLoopWebhook, UnreadableLoopWebhook},
		{connection.ProviderShopify, UnreadableShopify}} {
		_, err = s.Connections.Get(ctx, shopID, c.provider)
		switch {
		case errors.Is(err, connection.ErrNotFound):
		case errors.Is(err, secret.ErrUnreadable):
			names = append(names, c.name)
		case err != nil:
			return nil, err
		}
	}
	return names, nil
}

// Report logs one warning per shop whose stored secrets this process
// cannot open, at start-up, so a key missing from one process is found
// before shoppers meet that shop's "being set up" page.
func (s Secrets) Report(ctx context.Context, logger *slog.Logger) error {
	shops, err := s.Shops.List(ctx)
	if err != nil {
		return err
	}
	for _, sh := range shops {
		names, err := s.Unreadable(ctx, sh.ID)
		if err != nil {
			return err
		}
		if len(names) > 0 {
			logger.Warn("stored secrets of this shop cannot be opened with this process's HUBDESK_SECRET_KEY; its hub answers 503 until every process is given the key that sealed them",
				"shop", sh.Domain, "unreadable", strings.Join(names, ", "))
		}
	}
	return nil
}
