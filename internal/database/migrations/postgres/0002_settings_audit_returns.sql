-- Hub and integration settings: what admins edit (draft) and what shoppers
-- and agents get (published). Secrets inside are sealed before storage.
CREATE TABLE shop_settings (
    shop_id             BIGINT PRIMARY KEY REFERENCES shops(id) ON DELETE CASCADE,
    live                BOOLEAN NOT NULL DEFAULT FALSE,
    draft               TEXT    NOT NULL,
    published           TEXT    NOT NULL,
    draft_updated_at    BIGINT  NOT NULL,
    published_at        BIGINT
);

-- Who did what, when. Never holds a secret's value.
CREATE TABLE audit_log (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    at                  BIGINT  NOT NULL,
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
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
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
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    synced_at           BIGINT  NOT NULL,
    UNIQUE (shop_id, provider, external_id)
);
CREATE INDEX returns_order ON returns(shop_id, order_name);
