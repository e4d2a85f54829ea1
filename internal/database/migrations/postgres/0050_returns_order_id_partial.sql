-- Returns are read by their order (order_id = ?, order_id IN (…)), and the
-- ones waiting for their order by returns_waiting. With returns_order_id
-- holding the waiting ones too, statistics taken before a burst of
-- returns of orders not stored yet (autovacuum off, or not run since) had
-- the planner look the waiting ones up through it — every waiting return
-- of the shop read for each chunk of new orders. Holding only returns
-- with their order, it cannot serve `order_id IS NULL`.
DROP INDEX returns_order_id;
CREATE INDEX returns_order_id ON returns(shop_id, order_id) WHERE order_id IS NOT NULL;
