-- Loop's answer to "can this order start a return?" (its return-eligibility
-- endpoint), kept per order so no page ever waits for Loop: a job asks and
-- writes the row, pages read it. verdict is eligible (at least one line
-- item is), ineligible (none is; reason holds hubdesk's word for why) or
-- unavailable (the key's plan lacks the endpoint: the return window from
-- settings decides). basis fingerprints what the answer was asked for —
-- the order, its shipments and returns, and the Loop key — so a change to
-- any of them makes the row stale and a new job is queued.
CREATE TABLE return_eligibility (
    shop_id     BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id    BIGINT  NOT NULL,
    verdict     TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    basis       TEXT    NOT NULL,
    checked_at  BIGINT  NOT NULL,
    PRIMARY KEY (shop_id, order_id),
    CONSTRAINT return_eligibility_order_fkey FOREIGN KEY (shop_id, order_id) REFERENCES orders(shop_id, id) ON DELETE CASCADE
);
