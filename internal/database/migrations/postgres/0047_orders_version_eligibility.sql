-- The hub's order page shows whether a return can start, and for a shop
-- whose returns platform answers eligibility itself (Loop with a key) that
-- answer is the platform's, cached per order in return_eligibility by a
-- background job. The page is kept per customers.orders_version like the
-- orders tab, so the job's answer moves the version as every other write
-- the page shows does (migration 0043; the same per-statement function).

CREATE TRIGGER orders_version_eligibility_insert AFTER INSERT ON return_eligibility REFERENCING NEW TABLE AS changed_new
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_order_rows();
CREATE TRIGGER orders_version_eligibility_update AFTER UPDATE ON return_eligibility REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_order_rows();
CREATE TRIGGER orders_version_eligibility_delete AFTER DELETE ON return_eligibility REFERENCING OLD TABLE AS changed_old
FOR EACH STATEMENT EXECUTE FUNCTION orders_version_on_order_rows();
