-- Returns belong to an order by its row id, resolved when the return is
-- written: order names are not unique, so a return found by name alone
-- could show on another customer's order. NULL while the order is unknown
-- or its name ambiguous; the order's arrival (by platform id) attaches it.
ALTER TABLE returns ADD COLUMN order_id BIGINT REFERENCES orders(id) ON DELETE SET NULL;

-- Existing returns: the platform's order id when it names a stored order,
-- otherwise the name when exactly one order of the shop carries it.
UPDATE returns SET order_id = (
    SELECT o.id FROM orders o
    WHERE o.shop_id = returns.shop_id AND o.external_id = returns.order_external_id)
WHERE order_external_id <> '';

UPDATE returns SET order_id = (
    SELECT MIN(o.id) FROM orders o
    WHERE o.shop_id = returns.shop_id AND o.name = returns.order_name)
WHERE order_external_id = ''
  AND (SELECT COUNT(*) FROM orders o
       WHERE o.shop_id = returns.shop_id AND o.name = returns.order_name) = 1;

DROP INDEX returns_order;
CREATE INDEX returns_order_id ON returns(shop_id, order_id);
-- Returns waiting for their order, found when it arrives.
CREATE INDEX returns_waiting ON returns(shop_id, order_external_id) WHERE order_id IS NULL;
