-- Shopify sync. One row per shop for its full backfill through a bulk
-- operation: the operation, its result (the signed URL, sealed: it opens
-- every order of the shop for a week), how far the import has read (the
-- byte offset of the next order's line in the JSONL, committed with the
-- orders before it, so a crash resumes there: no duplicates, no gaps),
-- rows done of the total, errors, and the lease of the worker importing
-- it (one at a time; a dead worker's lease runs out).
CREATE TABLE shopify_backfills (
    shop_id            INTEGER PRIMARY KEY REFERENCES shops(id) ON DELETE CASCADE,
    status             TEXT    NOT NULL,
    bulk_operation_id  TEXT    NOT NULL DEFAULT '',
    result_url         TEXT    NOT NULL DEFAULT '',
    file_size          INTEGER NOT NULL DEFAULT 0,
    byte_offset        INTEGER NOT NULL DEFAULT 0,
    rows_done          INTEGER NOT NULL DEFAULT 0,
    rows_total         INTEGER NOT NULL DEFAULT 0,
    error_count        INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT    NOT NULL DEFAULT '',
    lease_owner        TEXT    NOT NULL DEFAULT '',
    lease_until        INTEGER,
    started_at         INTEGER NOT NULL,
    import_started_at  INTEGER,
    finished_at        INTEGER,
    updated_at         INTEGER NOT NULL
);

-- When each customer's orders were last read from Shopify (the refresh
-- when the hub or a ticket opens).
CREATE TABLE shopify_customer_checks (
    shop_id      INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    customer_id  INTEGER NOT NULL,
    checked_at   INTEGER NOT NULL,
    PRIMARY KEY (shop_id, customer_id)
);
