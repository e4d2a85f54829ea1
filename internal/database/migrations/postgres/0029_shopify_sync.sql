-- Shopify sync. One row per shop for its full backfill through a bulk
-- operation: the operation, its result (the signed URL, sealed: it opens
-- every order of the shop for a week), how far the import has read (the
-- byte offset of the next order's line in the JSONL, committed with the
-- orders before it, so a crash resumes there: no duplicates, no gaps),
-- rows done of the total, errors, and the lease of the worker importing
-- it (one at a time; a dead worker's lease runs out).
CREATE TABLE shopify_backfills (
    shop_id            BIGINT PRIMARY KEY REFERENCES shops(id) ON DELETE CASCADE,
    status             TEXT    NOT NULL,
    bulk_operation_id  TEXT    NOT NULL DEFAULT '',
    result_url         TEXT    NOT NULL DEFAULT '',
    file_size          BIGINT NOT NULL DEFAULT 0,
    byte_offset        BIGINT NOT NULL DEFAULT 0,
    rows_done          BIGINT NOT NULL DEFAULT 0,
    rows_total         BIGINT NOT NULL DEFAULT 0,
    error_count        BIGINT NOT NULL DEFAULT 0,
    last_error         TEXT    NOT NULL DEFAULT '',
    lease_owner        TEXT    NOT NULL DEFAULT '',
    lease_until        BIGINT,
    started_at         BIGINT NOT NULL,
    import_started_at  BIGINT,
    finished_at        BIGINT,
    updated_at         BIGINT NOT NULL
);

-- When each customer's orders were last read from Shopify (the refresh
-- when the hub or a ticket opens).
CREATE TABLE shopify_customer_checks (
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    customer_id  BIGINT NOT NULL,
    checked_at   BIGINT NOT NULL,
    PRIMARY KEY (shop_id, customer_id)
);
