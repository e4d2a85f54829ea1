-- The orders-version triggers of orders, shipments, returns and the
-- returns platform's eligibility answers (migrations 0043 and 0047) run
-- once per row rather than once per statement. Those tables are written a
-- row at a time, mostly by INSERT … ON CONFLICT DO UPDATE, which fires
-- both the INSERT and the UPDATE statement triggers whatever it did: three
-- UPDATEs of customers per upsert, two of them over empty transition
-- tables. A row trigger fires only for the row written, as it was written,
-- and bumps its customer by primary key; a WHEN clause keeps it from
-- running at all for an order without a customer, or a return without an
-- order. Line items stay per statement: an order's lines are written
-- together, and a chunk's new orders' lines in one insert.

DROP TRIGGER orders_version_order_insert ON orders;
DROP TRIGGER orders_version_order_update ON orders;
DROP TRIGGER orders_version_order_delete ON orders;
DROP TRIGGER orders_version_fulfillment_insert ON fulfillments;
DROP TRIGGER orders_version_fulfillment_update ON fulfillments;
DROP TRIGGER orders_version_fulfillment_delete ON fulfillments;
DROP TRIGGER orders_version_return_insert ON returns;
DROP TRIGGER orders_version_return_update ON returns;
DROP TRIGGER orders_version_return_delete ON returns;
DROP TRIGGER orders_version_eligibility_insert ON return_eligibility;
DROP TRIGGER orders_version_eligibility_update ON return_eligibility;
DROP TRIGGER orders_version_eligibility_delete ON return_eligibility;
DROP FUNCTION orders_version_on_orders();

-- An order's customer; on an update, the customer before and after (an
-- order moved to another customer changes both pages).
CREATE FUNCTION orders_version_on_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    CASE TG_OP
    WHEN 'INSERT' THEN
        UPDATE customers SET orders_version = orders_version + 1 WHERE id = NEW.customer_id;
    WHEN 'UPDATE' THEN
        UPDATE customers SET orders_version = orders_version + 1 WHERE id IN (OLD.customer_id, NEW.customer_id);
    ELSE
        UPDATE customers SET orders_version = orders_version + 1 WHERE id = OLD.customer_id;
    END CASE;
    RETURN NULL;
END
$$;

-- The customer of the order a row names (order_id).
CREATE FUNCTION orders_version_on_order_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    CASE TG_OP
    WHEN 'INSERT' THEN
        UPDATE customers SET orders_version = orders_version + 1
        WHERE id = (SELECT customer_id FROM orders WHERE id = NEW.order_id);
    WHEN 'UPDATE' THEN
        UPDATE customers SET orders_version = orders_version + 1
        WHERE id IN (SELECT customer_id FROM orders WHERE id IN (OLD.order_id, NEW.order_id));
    ELSE
        UPDATE customers SET orders_version = orders_version + 1
        WHERE id = (SELECT customer_id FROM orders WHERE id = OLD.order_id);
    END CASE;
    RETURN NULL;
END
$$;

CREATE TRIGGER orders_version_order_insert AFTER INSERT ON orders
FOR EACH ROW WHEN (NEW.customer_id IS NOT NULL) EXECUTE FUNCTION orders_version_on_order();
CREATE TRIGGER orders_version_order_update AFTER UPDATE ON orders
FOR EACH ROW WHEN (OLD.customer_id IS NOT NULL OR NEW.customer_id IS NOT NULL) EXECUTE FUNCTION orders_version_on_order();
CREATE TRIGGER orders_version_order_delete AFTER DELETE ON orders
FOR EACH ROW WHEN (OLD.customer_id IS NOT NULL) EXECUTE FUNCTION orders_version_on_order();

CREATE TRIGGER orders_version_fulfillment_insert AFTER INSERT ON fulfillments
FOR EACH ROW EXECUTE FUNCTION orders_version_on_order_row();
CREATE TRIGGER orders_version_fulfillment_update AFTER UPDATE ON fulfillments
FOR EACH ROW EXECUTE FUNCTION orders_version_on_order_row();
CREATE TRIGGER orders_version_fulfillment_delete AFTER DELETE ON fulfillments
FOR EACH ROW EXECUTE FUNCTION orders_version_on_order_row();

CREATE TRIGGER orders_version_return_insert AFTER INSERT ON returns
FOR EACH ROW WHEN (NEW.order_id IS NOT NULL) EXECUTE FUNCTION orders_version_on_order_row();
CREATE TRIGGER orders_version_return_update AFTER UPDATE ON returns
FOR EACH ROW WHEN (OLD.order_id IS NOT NULL OR NEW.order_id IS NOT NULL) EXECUTE FUNCTION orders_version_on_order_row();
CREATE TRIGGER orders_version_return_delete AFTER DELETE ON returns
FOR EACH ROW WHEN (OLD.order_id IS NOT NULL) EXECUTE FUNCTION orders_version_on_order_row();

CREATE TRIGGER orders_version_eligibility_insert AFTER INSERT ON return_eligibility
FOR EACH ROW EXECUTE FUNCTION orders_version_on_order_row();
CREATE TRIGGER orders_version_eligibility_update AFTER UPDATE ON return_eligibility
FOR EACH ROW EXECUTE FUNCTION orders_version_on_order_row();
CREATE TRIGGER orders_version_eligibility_delete AFTER DELETE ON return_eligibility
FOR EACH ROW EXECUTE FUNCTION orders_version_on_order_row();
