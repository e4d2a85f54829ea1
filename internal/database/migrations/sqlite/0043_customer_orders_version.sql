-- customers.orders_version counts the changes to a customer's orders and
-- to what hangs off them (line items, shipments, returns), whoever writes
-- them: webhooks, the backfill, the API, another process. The hub keeps a
-- shopper's rendered orders tab per version, so one small read tells it
-- whether the page it holds is still the truth. Triggers rather than the
-- stores bump it, so a write path added later cannot forget to.
ALTER TABLE customers ADD COLUMN orders_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER orders_version_order_insert AFTER INSERT ON orders
WHEN new.customer_id IS NOT NULL
BEGIN
    UPDATE customers SET orders_version = orders_version + 1 WHERE id = new.customer_id;
END;

CREATE TRIGGER orders_version_order_update AFTER UPDATE ON orders
BEGIN
    UPDATE customers SET orders_version = orders_version + 1 WHERE id IN (old.customer_id, new.customer_id);
END;

CREATE TRIGGER orders_version_order_delete AFTER DELETE ON orders
WHEN old.customer_id IS NOT NULL
BEGIN
    UPDATE customers SET orders_version = orders_version + 1 WHERE id = old.customer_id;
END;

CREATE TRIGGER orders_version_item_insert AFTER INSERT ON line_items
BEGIN
    UPDATE customers SET orders_version = orders_version + 1
    WHERE id = (SELECT customer_id FROM orders WHERE id = new.order_id);
END;

CREATE TRIGGER orders_version_item_update AFTER UPDATE ON line_items
BEGIN
    UPDATE customers SET orders_version = orders_version + 1
    WHERE id IN (SELECT customer_id FROM orders WHERE id IN (old.order_id, new.order_id));
END;

CREATE TRIGGER orders_version_item_delete AFTER DELETE ON line_items
BEGIN
    UPDATE customers SET orders_version = orders_version + 1
    WHERE id = (SELECT customer_id FROM orders WHERE id = old.order_id);
END;

CREATE TRIGGER orders_version_fulfillment_insert AFTER INSERT ON fulfillments
BEGIN
    UPDATE customers SET orders_version = orders_version + 1
    WHERE id = (SELECT customer_id FROM orders WHERE id = new.order_id);
END;

CREATE TRIGGER orders_version_fulfillment_update AFTER UPDATE ON fulfillments
BEGIN
    UPDATE customers SET orders_version = orders_version + 1
    WHERE id IN (SELECT customer_id FROM orders WHERE id IN (old.order_id, new.order_id));
END;

CREATE TRIGGER orders_version_fulfillment_delete AFTER DELETE ON fulfillments
BEGIN
    UPDATE customers SET orders_version = orders_version + 1
    WHERE id = (SELECT customer_id FROM orders WHERE id = old.order_id);
END;

CREATE TRIGGER orders_version_return_insert AFTER INSERT ON returns
WHEN new.order_id IS NOT NULL
BEGIN
    UPDATE customers SET orders_version = orders_version + 1
    WHERE id = (SELECT customer_id FROM orders WHERE id = new.order_id);
END;

CREATE TRIGGER orders_version_return_update AFTER UPDATE ON returns
BEGIN
    UPDATE customers SET orders_version = orders_version + 1
    WHERE id IN (SELECT customer_id FROM orders WHERE id IN (old.order_id, new.order_id));
END;

CREATE TRIGGER orders_version_return_delete AFTER DELETE ON returns
WHEN old.order_id IS NOT NULL
BEGIN
    UPDATE customers SET orders_version = orders_version + 1
    WHERE id = (SELECT customer_id FROM orders WHERE id = old.order_id);
END;
