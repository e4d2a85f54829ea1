-- Hub and integration settings: what admins edit (draft) and what shoppers
-- and agents get (published). Secrets inside are sealed before storage.
CREATE TABLE shop_settings (
    shop_id             INTEGER PRIMARY KEY REFERENCES shops(id) ON DELETE CASCADE,
    live                INTEGER NOT NULL DEFAULT 0,
    draft               TEXT    NOT NULL,
    published           TEXT    NOT NULL,
    draft_updated_at    INTEGER NOT NULL,
    published_at        INTEGER
);

-- Who did what, when. Never holds a secret's value.
CREATE TABLE audit_log (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    at                  INTEGER NOT NULL,
    actor_kind          TEXT    NOT NULL,
    actor_id            TEXT    NOT NULL DEFAULT '',
    actor_label         TEXT    NOT NULL DEFAULT '',
    action              TEXT    NOT NULL,
    subject             TEXT    NOT NULL DEFAULT '',
    provider            TEXT    NOT NULL DEFAULT '',
    outcome             TEXT    NOT NULL DEFAULT '',
    details             TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_recent ON audit_log(shop_id, at DESC, id DESC);

-- Returns as the returns platform reports them, keyed by its id.
CREATE TABLE returns (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    provider            TEXT    NOT NULL,
    external_id         TEXT    NOT NULL,
    order_name          TEXT    NOT NULL,
    order_external_id   TEXT    NOT NULL DEFAULT '',
    state               TEXT    NOT NULL,
    outcome             TEXT    NOT NULL DEFAULT '',
    carrier             TEXT    NOT NULL DEFAULT '',
    tracking_number     TEXT    NOT NULL DEFAULT '',
    label_status        TEXT    NOT NULL DEFAULT '',
    label_url           TEXT    NOT NULL DEFAULT '',
    status_page_url     TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    synced_at           INTEGER NOT NULL,
    UNIQUE (shop_id, provider, external_id)
);
CREATE INDEX returns_order ON returns(shop_id, order_name);
