package shopifyconnect

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/jobs"
)

// Tokens that expire (client credentials: about 24 hours; the public
// app's offline tokens: about 60 minutes) are renewed by a job scheduled
// at their RefreshAt (RefreshBefore their expiry) when they are saved, and by a periodic sweep
// that renews any token close to expiry whose job went missing. Renewals
// never run at the same time for one token: jobs are unique per shop and
// expiry, and a renewal saves its token only if the connection still holds
// the token it renewed (a reconnect in between wins).

// RefreshArgs renew the shop's token that expires at Due (Unix seconds).
type RefreshArgs struct {
	ShopID int64 `json:"shop_id"`
	Due    int64 `json:"due"`
}

func (RefreshArgs) Kind() string  { return "shopify_token_refresh" }
func (a RefreshArgs) Shop() int64 { return a.ShopID }

// RefreshAllArgs look for tokens close to expiry in every shop.
type RefreshAllArgs struct{}

func (RefreshAllArgs) Kind() string { return "shopify_token_refresh_all" }
func (RefreshAllArgs) Shop() int64  { return 0 }

// SweepInterval is how often the periodic sweep looks for tokens due.
const SweepInterval = 5 * time.Minute

// scheduleRefresh enqueues the renewal of an expiring token at its
// RefreshAt (at once when that is past).
func (c *Connector) scheduleRefresh(ctx context.Context, tx *database.Tx, shopID int64, sc *connection.ShopifyCredentials) error {
	if sc.ExpiresAt == nil || sc.RefreshAt == nil || sc.AccessToken == "" || sc.Method == connection.ShopifyAdminToken {
		return nil
	}
	opts := unique()
	if sc.RefreshAt.After(c.now()) {
		opts.ScheduledAt = *sc.RefreshAt
	}
	_, err := c.queue.Enqueue(ctx, tx, RefreshArgs{ShopID: shopID, Due: sc.ExpiresAt.Unix()}, opts)
	return err
}

// due says whether the token should be renewed now.
func (c *Connector) due(sc *connection.ShopifyCredentials) bool {
	return sc.AccessToken != "" && sc.RefreshAt != nil && sc.Method != connection.ShopifyAdminToken &&
		!c.now().Before(*sc.RefreshAt)
}

// Refresh renews the shop's token when it is due, and says whether it
// did. Shopify refusing the renewal (revoked credentials, a refresh token
// no longer good) marks the connection refused and is not retried; not
// reaching Shopify is an error, for the job to retry.
func (c *Connector) Refresh(ctx context.Context, shopID int64) (bool, error) {
	sh, err := c.opts.Shops.Get(ctx, shopID)
	if err != nil {
		return false, err
	}
	_, sc, err := c.credentials(ctx, c.opts.Connections.With(c.opts.DB), shopID)
	if errors.Is(err, ErrNotConnected) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !c.due(sc) {
		return false, nil
	}
	var tok *shopify.Token
	switch sc.Method {
	case connection.ShopifyClientCredentials:
		tok, err = c.opts.OAuth.ClientCredentials(ctx, sh.Domain, sc.ClientID, sc.ClientSecret)
	case connection.ShopifyPublicApp:
		tok, err = c.opts.OAuth.Refresh(ctx, sh.Domain, c.opts.App.ClientID, c.opts.App.ClientSecret, sc.RefreshToken)
	default:
		return false, nil
	}
	var te *shopify.TokenError
	if errors.As(err, &te) {
		c.log.WarnContext(ctx, "shopifyconnect: Shopify refused to renew the token", "shop", shopID, "method", sc.Method, "err", te)
		return false, c.markRefused(ctx, shopID, sc.AccessToken)
	}
	if err != nil {
		return false, err
	}
	saved := false
	err = c.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		conns := c.opts.Connections.With(tx)
		conn, now, err := c.credentials(ctx, conns, shopID)
		if errors.Is(err, ErrNotConnected) {
			return nil
		}
		if err != nil {
			return err
		}
		if now.AccessToken != sc.AccessToken || now.Method != sc.Method {
			return nil // reconnected, disconnected or uninstalled meanwhile
		}
		setToken(now, tok, c.now())
		if err := conn.SetShopifyCredentials(now); err != nil {
			return err
		}
		conn.Status = connection.StatusConnected
		if len(tok.Scopes) > 0 {
			conn.Scopes = scopeReport(tok.Scopes)
		}
		if err := conns.Save(ctx, shopID, conn, c.now()); err != nil {
			return err
		}
		saved = true
		return c.scheduleRefresh(ctx, tx, shopID, now)
	})
	return saved, err
}

// markRefused records that Shopify refused to renew the token the
// connection still holds.
func (c *Connector) markRefused(ctx context.Context, shopID int64, token string) error {
	return c.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		conns := c.opts.Connections.With(tx)
		conn, now, err := c.credentials(ctx, conns, shopID)
		if errors.Is(err, ErrNotConnected) {
			return nil
		}
		if err != nil || now.AccessToken != token {
			return err // renewed or replaced meanwhile: not refused
		}
		conn.Status = connection.StatusRefused
		return conns.Save(ctx, shopID, conn, c.now())
	})
}

// RefreshDue enqueues the renewal of every token due within the next
// sweep, for the shops whose scheduled renewal went missing.
func (c *Connector) RefreshDue(ctx context.Context) (int, error) {
	shops, err := c.opts.Connections.ShopsWith(ctx, connection.ProviderShopify)
	if err != nil {
		return 0, err
	}
	var due []jobs.NewJob
	horizon := c.now().Add(SweepInterval)
	for _, id := range shops {
		_, sc, err := c.credentials(ctx, c.opts.Connections, id)
		if err != nil {
			c.log.WarnContext(ctx, "shopifyconnect: unreadable connection", "shop", id, "err", err)
			continue
		}
		if sc.AccessToken == "" || sc.ExpiresAt == nil || sc.RefreshAt == nil || sc.Method == connection.ShopifyAdminToken ||
			horizon.Before(*sc.RefreshAt) {
			continue
		}
		due = append(due, jobs.NewJob{Args: RefreshArgs{ShopID: id, Due: sc.ExpiresAt.Unix()}, Opts: unique()})
	}
	if len(due) == 0 {
		return 0, nil
	}
	return len(due), c.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		for _, j := range due {
			if _, err := c.queue.Enqueue(ctx, tx, j.Args, j.Opts); err != nil {
				return err
			}
		}
		return nil
	})
}

type refreshWorker struct {
	river.WorkerDefaults[RefreshArgs]
	c *Connector
}

func (w *refreshWorker) Work(ctx context.Context, job *river.Job[RefreshArgs]) error {
	_, err := w.c.Refresh(ctx, job.Args.ShopID)
	return err
}

type refreshAllWorker struct {
	river.WorkerDefaults[RefreshAllArgs]
	c *Connector
}

func (w *refreshAllWorker) Work(ctx context.Context, _ *river.Job[RefreshAllArgs]) error {
	_, err := w.c.RefreshDue(ctx)
	return err
}

// TokenSource is the shop's token for the Admin client
// (shopify.TokenSource): the stored token while it is good. A token that
// ran out (its renewal failed or is late) is ErrTokenExpired and a renewal
// is asked for; a shop without a token is ErrNotConnected.
func (c *Connector) TokenSource(shopID int64) shopify.TokenSource {
	return shopTokens{c: c, shopID: shopID}
}

type shopTokens struct {
	c      *Connector
	shopID int64
}

func (t shopTokens) Token(ctx context.Context) (string, error) {
	_, sc, err := t.c.credentials(ctx, t.c.opts.Connections, t.shopID)
	if err != nil {
		return "", err
	}
	if sc.AccessToken == "" {
		return "", ErrNotConnected
	}
	if sc.Expired(t.c.now()) {
		err := t.c.opts.DB.InTx(ctx, func(tx *database.Tx) error {
			_, err := t.c.queue.Enqueue(ctx, tx, RefreshArgs{ShopID: t.shopID, Due: sc.ExpiresAt.Unix()}, unique())
			return err
		})
		return "", errors.Join(ErrTokenExpired, err)
	}
	return sc.AccessToken, nil
}

// AdminClient is an Admin API client for the shop, on its stored token:
// what sync and backfill call Shopify with. A shop without a token
// (never connected, disconnected, uninstalled) is ErrNotConnected.
func (c *Connector) AdminClient(ctx context.Context, shopID int64) (*shopify.Client, error) {
	_, sc, err := c.credentials(ctx, c.opts.Connections, shopID)
	if err != nil {
		return nil, err
	}
	if sc.AccessToken == "" {
		return nil, ErrNotConnected
	}
	sh, err := c.opts.Shops.Get(ctx, shopID)
	if err != nil {
		return nil, err
	}
	return c.admin(sh.Domain, c.TokenSource(shopID), false), nil
}

// AddWorkers registers the connector's workers.
func (c *Connector) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &refreshWorker{c: c})
	river.AddWorker(w, &refreshAllWorker{c: c})
	river.AddWorker(w, &subscribeWorker{c: c})
	river.AddWorker(w, &subscribeAllWorker{c: c})
	river.AddWorker(w, &unsubscribeWorker{c: c})
}

// Periodic are the connector's periodic jobs: the token sweep and the
// subscriptions' check and repair.
func (c *Connector) Periodic() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(SweepInterval),
			func() (river.JobArgs, *river.InsertOpts) { return RefreshAllArgs{}, jobs.ShopOpts(0) },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(SubscriptionCheckInterval),
			func() (river.JobArgs, *river.InsertOpts) { return SubscribeAllArgs{}, jobs.ShopOpts(0) },
			&river.PeriodicJobOpts{RunOnStart: true}),
	}
}
