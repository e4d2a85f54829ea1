-- Helpdesk search. One FTS5 document per ticket, its rowid the ticket's id:
-- the subject; related: the requester's email and name, the linked
-- customer's email and names and the linked order's name; and every
-- message and note of the
-- conversation, so words spread over the subject, the requester and the
-- messages still find the ticket together. Triggers keep it current.
--
-- The shop column holds one token, "s" and the shop's id, so the index
-- itself answers only the shop's tickets (the search also joins tickets by
-- id and filters by shop_id); the user's words are matched against the
-- other columns only.
--
-- unicode61 splits at every character that is not a letter or a digit, so
-- "ada@example.com" is indexed as ada, example, com (the whole address is
-- found as that phrase, "ada" alone finds it too) and "#1001" as 1001.
-- Diacritics are kept, as PostgreSQL's 'simple' configuration keeps them,
-- so both engines find the same tickets. The prefix indexes serve
-- search-as-you-type on short beginnings of words.
CREATE VIRTUAL TABLE ticket_search USING fts5(
    subject, related, body, shop,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);

CREATE TRIGGER ticket_search_ticket_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_search (rowid, shop, subject, related, body) VALUES (
        new.id, 's' || new.shop_id, new.subject,
        new.requester_email || ' ' || new.requester_name || ' ' ||
            coalesce((SELECT c.email || ' ' || c.first_name || ' ' || c.last_name FROM customers c WHERE c.id = new.customer_id), '') || ' ' ||
            coalesce((SELECT o.name FROM orders o WHERE o.id = new.order_id), ''),
        coalesce((SELECT group_concat(m.body, char(10)) FROM (SELECT body FROM ticket_messages
            WHERE ticket_id = new.id ORDER BY created_at, id) m), ''));
END;

CREATE TRIGGER ticket_search_ticket_update AFTER UPDATE OF subject, requester_email, requester_name, customer_id, order_id ON tickets
WHEN old.subject IS NOT new.subject OR old.requester_email IS NOT new.requester_email
    OR old.requester_name IS NOT new.requester_name OR old.customer_id IS NOT new.customer_id OR old.order_id IS NOT new.order_id
BEGIN
    UPDATE ticket_search SET subject = new.subject,
        related = new.requester_email || ' ' || new.requester_name || ' ' ||
            coalesce((SELECT c.email || ' ' || c.first_name || ' ' || c.last_name FROM customers c WHERE c.id = new.customer_id), '') || ' ' ||
            coalesce((SELECT o.name FROM orders o WHERE o.id = new.order_id), '')
    WHERE rowid = new.id;
END;

CREATE TRIGGER ticket_search_ticket_delete AFTER DELETE ON tickets BEGIN
    DELETE FROM ticket_search WHERE rowid = old.id;
END;

-- A new message is appended to its ticket's document; an edited or
-- deleted one rebuilds the conversation. A message deleted because its
-- ticket is (ON DELETE CASCADE) leaves the document to the ticket's own
-- trigger rather than rebuilding it once per message.
CREATE TRIGGER ticket_search_message_insert AFTER INSERT ON ticket_messages BEGIN
    UPDATE ticket_search SET body = CASE WHEN body = '' THEN new.body ELSE body || char(10) || new.body END
    WHERE rowid = new.ticket_id;
END;

CREATE TRIGGER ticket_search_message_update AFTER UPDATE OF body, ticket_id ON ticket_messages
WHEN old.body IS NOT new.body OR old.ticket_id IS NOT new.ticket_id
BEGIN
    UPDATE ticket_search SET body = coalesce((SELECT group_concat(m.body, char(10)) FROM (SELECT body FROM ticket_messages
            WHERE ticket_id = ticket_search.rowid ORDER BY created_at, id) m), '')
    WHERE rowid IN (old.ticket_id, new.ticket_id);
END;

CREATE TRIGGER ticket_search_message_delete AFTER DELETE ON ticket_messages
WHEN EXISTS (SELECT 1 FROM tickets WHERE id = old.ticket_id)
BEGIN
    UPDATE ticket_search SET body = coalesce((SELECT group_concat(m.body, char(10)) FROM (SELECT body FROM ticket_messages
            WHERE ticket_id = old.ticket_id ORDER BY created_at, id) m), '')
    WHERE rowid = old.ticket_id;
END;

-- A customer's new email or name, or an order's new name, reaches the
-- tickets linked to them.
CREATE TRIGGER ticket_search_customer_update AFTER UPDATE OF email, first_name, last_name ON customers
WHEN old.email IS NOT new.email OR old.first_name IS NOT new.first_name OR old.last_name IS NOT new.last_name
BEGIN
    UPDATE ticket_search SET related = (SELECT t.requester_email || ' ' || t.requester_name || ' ' ||
            new.email || ' ' || new.first_name || ' ' || new.last_name || ' ' ||
            coalesce((SELECT o.name FROM orders o WHERE o.id = t.order_id), '')
        FROM tickets t WHERE t.id = ticket_search.rowid)
    WHERE rowid IN (SELECT id FROM tickets WHERE shop_id = new.shop_id AND customer_id = new.id);
END;

CREATE TRIGGER ticket_search_order_update AFTER UPDATE OF name ON orders
WHEN old.name IS NOT new.name
BEGIN
    UPDATE ticket_search SET related = (SELECT t.requester_email || ' ' || t.requester_name || ' ' ||
            coalesce((SELECT c.email || ' ' || c.first_name || ' ' || c.last_name FROM customers c WHERE c.id = t.customer_id), '') || ' ' ||
            new.name
        FROM tickets t WHERE t.id = ticket_search.rowid)
    WHERE rowid IN (SELECT id FROM tickets WHERE shop_id = new.shop_id AND order_id = new.id);
END;

-- The tickets written before this migration.
INSERT INTO ticket_search (rowid, shop, subject, related, body)
SELECT t.id, 's' || t.shop_id, t.subject,
    t.requester_email || ' ' || t.requester_name || ' ' ||
        coalesce((SELECT c.email || ' ' || c.first_name || ' ' || c.last_name FROM customers c WHERE c.id = t.customer_id), '') || ' ' ||
            coalesce((SELECT o.name FROM orders o WHERE o.id = t.order_id), ''),
    coalesce((SELECT group_concat(m.body, char(10)) FROM (SELECT body FROM ticket_messages
        WHERE ticket_id = t.id ORDER BY created_at, id) m), '')
FROM tickets t;
