-- Shopify install. A shop installed through hubdesk's public app has its
-- App Proxy requests and webhooks signed with the app's client secret
-- (HUBDESK_SHOPIFY_CLIENT_SECRET), which the process holds, not with a
-- secret of its own: secret_source 'app' says so, 'shop' reads
-- shops.client_secret as before (custom apps, `hubdesk shop secret`).
ALTER TABLE shops ADD COLUMN secret_source TEXT NOT NULL DEFAULT 'shop';

-- The single-use state of an install under way (authorization code
-- grant): only its SHA-256 is kept, with the shop it was made for and
-- when it stops working. A callback takes its row away, so a replayed
-- callback finds none. It belongs to no shop yet: the shop may be created
-- by the callback.
CREATE TABLE shopify_install_states (
    state_hash   TEXT    PRIMARY KEY,
    shop_domain  TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
CREATE INDEX shopify_install_states_expiry ON shopify_install_states(expires_at);
