-- customers.orders_version counts the changes to a customer's orders and
-- to what hangs off them (line items, shipments, returns), whoever writes
-- them: webhooks, the backfill, the API, another process. The hub keeps a
-- shopper's rendered orders tab per version, so one small read tells it
-- whether the page it holds is still the truth. Triggers rather than the
-- stores bump it, so a write path added later cannot forget to. They run
-- once per statement over its transition tables, so a bulk insert bumps
-- each customer once rather than once per row.
ALTER TABLE customers ADD COLUMN orders_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION orders_version_on_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE customers SET orders_version = orders_version + 1
        WHERE id IN (SELECT customer_id FROM changed_new);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE customers SET orders_version = orders_version + 1
        WHERE id IN (SELECT customer_id FROM changed_old);
    END IF;
    RETURN NULL;
END
$$;

-- For the tables whose rows name an order (order_id).
CREATE FUNCTION orders_version_on_order_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE customers SET orders_version = orders_version + 1
        WHERE id IN (SELECT o.customer_id FROM orders o WHERE o.id IN (SELECT order_id FROM changed_new));
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE customers SET orders_version = orders_version + 1
        WHERE id IN (SELECT o.customer_id FROM orders o WHERE o.id IN (SELECT order_id FROM changed_old));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER orders_version_order_insert AFTER INSERT ON orders REFERENCING NEW TABLE AS changed_new
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_orders();
CREATE TRIGGER orders_version_order_update AFTER UPDATE ON orders REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_orders();
CREATE TRIGGER orders_version_order_delete AFTER DELETE ON orders REFERENCING OLD TABLE AS changed_old
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_orders();

CREATE TRIGGER orders_version_item_insert AFTER INSERT ON line_items REFERENCING NEW TABLE AS changed_new
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_order_rows();
CREATE TRIGGER orders_version_item_update AFTER UPDATE ON line_items REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_order_rows();
CREATE TRIGGER orders_version_item_delete AFTER DELETE ON line_items REFERENCING OLD TABLE AS changed_old
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_order_rows();

CREATE TRIGGER orders_version_fulfillment_insert AFTER INSERT ON fulfillments REFERENCING NEW TABLE AS changed_new
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_order_rows();
CREATE TRIGGER orders_version_fulfillment_update AFTER UPDATE ON fulfillments REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_order_rows();
CREATE TRIGGER orders_version_fulfillment_delete AFTER DELETE ON fulfillments REFERENCING OLD TABLE AS changed_old
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_order_rows();

CREATE TRIGGER orders_version_return_insert AFTER INSERT ON returns REFERENCING NEW TABLE AS changed_new
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_order_rows();
CREATE TRIGGER orders_version_return_update AFTER UPDATE ON returns REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_order_rows();
CREATE TRIGGER orders_version_return_delete AFTER DELETE ON returns REFERENCING OLD TABLE AS changed_old
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_order_rows();
