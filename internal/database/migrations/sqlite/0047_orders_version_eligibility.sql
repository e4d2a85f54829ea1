-- The hub's order page shows whether a return can start, and for a shop
-- whose returns platform answers eligibility itself (Loop with a key) that
-- answer is the platform's, cached per order in return_eligibility by a
-- background job. The page is kept per customers.orders_version like the
-- orders tab, so the job's answer moves the version as every other write
-- the page shows does (migration 0043).

CREATE TRIGGER orders_version_eligibility_insert AFTER INSERT ON return_eligibility
BEGIN
    UPDATE customers SET orders_version = orders_version + 1
    WHERE id = (SELECT customer_id FROM orders WHERE id = new.order_id);
END;

CREATE TRIGGER orders_version_eligibility_update AFTER UPDATE ON return_eligibility
BEGIN
    UPDATE customers SET orders_version = orders_version + 1
    WHERE id IN (SELECT customer_id FROM orders WHERE id IN (old.order_id, new.order_id));
END;

CREATE TRIGGER orders_version_eligibility_delete AFTER DELETE ON return_eligibility
BEGIN
    UPDATE customers SET orders_version = orders_version + 1
    WHERE id = (SELECT customer_id FROM orders WHERE id = old.order_id);
END;
