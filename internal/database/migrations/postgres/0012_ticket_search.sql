-- Helpdesk search. One tsvector per ticket: the subject (weight A); the
-- related (B): the requester's email and name, the linked customer's email
-- and names and the linked order's name; and every message and note of the
-- conversation (C), so words spread over the subject, the requester and
-- the messages still find the ticket together. Triggers keep it current.
--
-- The document also holds the lexeme "#" and the shop's id, which no text
-- can produce (the parser never keeps a "#"), so the index itself answers
-- only the shop's tickets (the search also joins tickets by id and filters
-- by shop_id).
--
-- The 'simple' configuration lower-cases and keeps every word: shoppers
-- write in many languages, and an English stemmer and stop-word list would
-- mangle the others (and names, addresses and order numbers are no
-- language's words). ASCII punctuation is turned into spaces first, so the
-- parser never keeps an email, host, path or tag whole: "ada@example.com"
-- is indexed as ada, example, com and "#1001" as 1001, exactly as SQLite's
-- unicode61 tokenizer does.
CREATE TABLE ticket_search (
    ticket_id           BIGINT  PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    document            TSVECTOR NOT NULL
);
CREATE INDEX ticket_search_document ON ticket_search USING gin (document);

-- ticket_search_words is the text the parser is given: ASCII punctuation
-- becomes spaces.
CREATE FUNCTION ticket_search_words(t TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT translate(t, '!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~', repeat(' ', 32))
$$;

-- ticket_search_body is the conversation's part of the document.
CREATE FUNCTION ticket_search_body(body TEXT) RETURNS TSVECTOR LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple'::regconfig, ticket_search_words(body)), 'C')
$$;

-- ticket_search_document builds a ticket's whole document from its rows.
CREATE FUNCTION ticket_search_document(ticket BIGINT) RETURNS TSVECTOR LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('simple'::regconfig, ticket_search_words(t.subject)), 'A') ||
           setweight(to_tsvector('simple'::regconfig, ticket_search_words(
               t.requester_email || ' ' || t.requester_name || ' ' ||
               coalesce((SELECT c.email || ' ' || c.first_name || ' ' || c.last_name FROM customers c WHERE c.id = t.customer_id), '') || ' ' ||
            coalesce((SELECT o.name FROM orders o WHERE o.id = t.order_id), ''))), 'B') ||
           coalesce((SELECT ticket_search_body(string_agg(m.body, E'\n' ORDER BY m.created_at, m.id))
                     FROM ticket_messages m WHERE m.ticket_id = t.id), ''::tsvector) ||
           array_to_tsvector(ARRAY['#' || t.shop_id])
    FROM tickets t WHERE t.id = ticket
$$;

-- ticket_search_refresh rebuilds a ticket's document. A tsvector holds at
-- most 1 MB; a conversation whose words pass that keeps the document it
-- had (a warning says so) rather than refusing the write that grew it.
CREATE FUNCTION ticket_search_refresh(ticket BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_search (ticket_id, document)
    SELECT ticket, d FROM ticket_search_document(ticket) d WHERE d IS NOT NULL
    ON CONFLICT (ticket_id) DO UPDATE SET document = excluded.document;
EXCEPTION WHEN program_limit_exceeded THEN
    RAISE WARNING 'ticket % is too long to search in full: %', ticket, SQLERRM;
END
$$;

CREATE FUNCTION ticket_search_on_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ticket_search_refresh(NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER ticket_search_ticket_insert AFTER INSERT ON tickets
FOR EACH ROW EXECUTE FUNCTION ticket_search_on_ticket();

CREATE TRIGGER ticket_search_ticket_update AFTER UPDATE OF subject, requester_email, requester_name, customer_id, order_id ON tickets
FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject OR OLD.requester_email IS DISTINCT FROM NEW.requester_email
    OR OLD.requester_name IS DISTINCT FROM NEW.requester_name OR OLD.customer_id IS DISTINCT FROM NEW.customer_id
    OR OLD.order_id IS DISTINCT FROM NEW.order_id)
EXECUTE FUNCTION ticket_search_on_ticket();

-- A new message is appended to its ticket's document (no rebuild); an
-- edited or deleted one rebuilds it. A message deleted because its ticket
-- is (ON DELETE CASCADE) leaves the document to the ticket's own cascade.
CREATE FUNCTION ticket_search_on_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        BEGIN
            UPDATE ticket_search SET document = document || ticket_search_body(NEW.body) WHERE ticket_id = NEW.ticket_id;
        EXCEPTION WHEN program_limit_exceeded THEN
            RAISE WARNING 'ticket % is too long to search in full: %', NEW.ticket_id, SQLERRM;
        END;
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM tickets WHERE id = OLD.ticket_id) THEN
        PERFORM ticket_search_refresh(OLD.ticket_id);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.ticket_id IS DISTINCT FROM OLD.ticket_id THEN
        PERFORM ticket_search_refresh(NEW.ticket_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ticket_search_message_insert AFTER INSERT ON ticket_messages
FOR EACH ROW EXECUTE FUNCTION ticket_search_on_message();

CREATE TRIGGER ticket_search_message_update AFTER UPDATE OF body, ticket_id ON ticket_messages
FOR EACH ROW WHEN (OLD.body IS DISTINCT FROM NEW.body OR OLD.ticket_id IS DISTINCT FROM NEW.ticket_id)
EXECUTE FUNCTION ticket_search_on_message();

CREATE TRIGGER ticket_search_message_delete AFTER DELETE ON ticket_messages
FOR EACH ROW EXECUTE FUNCTION ticket_search_on_message();

-- A customer's new email or name, or an order's new name, reaches the
-- tickets linked to them.
CREATE FUNCTION ticket_search_on_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ticket_search_refresh(t.id) FROM tickets t WHERE t.shop_id = NEW.shop_id AND t.customer_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER ticket_search_customer_update AFTER UPDATE OF email, first_name, last_name ON customers
FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email OR OLD.first_name IS DISTINCT FROM NEW.first_name
    OR OLD.last_name IS DISTINCT FROM NEW.last_name)
EXECUTE FUNCTION ticket_search_on_customer();

CREATE FUNCTION ticket_search_on_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ticket_search_refresh(t.id) FROM tickets t WHERE t.shop_id = NEW.shop_id AND t.order_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER ticket_search_order_update AFTER UPDATE OF name ON orders
FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
EXECUTE FUNCTION ticket_search_on_order();

-- The tickets written before this migration.
SELECT ticket_search_refresh(t.id) FROM tickets t;
