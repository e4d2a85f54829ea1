-- A transaction that moves customers' orders versions (the triggers of
-- migrations 0043, 0047 and 0049, or a customer erased) tells every
-- process on the database, once at its commit: NOTIFY sends a
-- transaction's identical notifications once. A process that keeps the
-- versions it read (commerce.Versions) forgets them then, so a hub page
-- kept under a version is served without asking the database again while
-- nothing has moved.
CREATE FUNCTION orders_version_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hubdesk_orders_version', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER orders_version_notify AFTER UPDATE OF orders_version OR DELETE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION orders_version_notify();
