-- A row may only point at a row of its own shop: every reference to a
-- shop's row is a composite (shop_id, <column>) → <parent>(shop_id, id),
-- so a bug that hands one shop's id to another shop's write is refused by
-- the database itself. The parents get a unique key on (shop_id, id) for
-- the references to point at; each single-column reference is replaced by
-- its composite under the same name.
--
-- Plain ADD CONSTRAINT, not NOT VALID + VALIDATE: the migrator runs a
-- migration in one transaction, and within one transaction the split
-- gains nothing (the ADD's lock is held until commit either way). The
-- check is an index probe per child row. A row pointing into another shop
-- fails the migration, naming the table and constraint, and nothing
-- changes: such a row is a bug's trace, and guessing which of its two
-- shops is right could hand data to the wrong tenant.
--
-- ON DELETE SET NULL (column) (PostgreSQL 15) nulls the reference alone,
-- never shop_id.

ALTER TABLE users ADD CONSTRAINT users_shop_id_key UNIQUE (shop_id, id);
ALTER TABLE customers ADD CONSTRAINT customers_shop_id_key UNIQUE (shop_id, id);
ALTER TABLE orders ADD CONSTRAINT orders_shop_id_key UNIQUE (shop_id, id);
ALTER TABLE tickets ADD CONSTRAINT tickets_shop_id_key UNIQUE (shop_id, id);

ALTER TABLE sessions
    DROP CONSTRAINT sessions_user_id_fkey,
    ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (shop_id, user_id) REFERENCES users(shop_id, id) ON DELETE CASCADE;

ALTER TABLE api_tokens
    DROP CONSTRAINT api_tokens_user_id_fkey,
    ADD CONSTRAINT api_tokens_user_id_fkey FOREIGN KEY (shop_id, user_id) REFERENCES users(shop_id, id) ON DELETE CASCADE;

ALTER TABLE orders
    DROP CONSTRAINT orders_customer_id_fkey,
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (shop_id, customer_id) REFERENCES customers(shop_id, id) ON DELETE SET NULL (customer_id);

-- line_items and fulfillments also lacked a reference to their shop.
ALTER TABLE line_items
    DROP CONSTRAINT line_items_order_id_fkey,
    ADD CONSTRAINT line_items_order_id_fkey FOREIGN KEY (shop_id, order_id) REFERENCES orders(shop_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT line_items_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;

ALTER TABLE fulfillments
    DROP CONSTRAINT fulfillments_order_id_fkey,
    ADD CONSTRAINT fulfillments_order_id_fkey FOREIGN KEY (shop_id, order_id) REFERENCES orders(shop_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT fulfillments_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;

ALTER TABLE returns
    DROP CONSTRAINT returns_order_id_fkey,
    ADD CONSTRAINT returns_order_id_fkey FOREIGN KEY (shop_id, order_id) REFERENCES orders(shop_id, id) ON DELETE SET NULL (order_id);

ALTER TABLE tickets
    DROP CONSTRAINT tickets_customer_id_fkey,
    DROP CONSTRAINT tickets_order_id_fkey,
    DROP CONSTRAINT tickets_assignee_id_fkey,
    ADD CONSTRAINT tickets_customer_id_fkey FOREIGN KEY (shop_id, customer_id) REFERENCES customers(shop_id, id) ON DELETE SET NULL (customer_id),
    ADD CONSTRAINT tickets_order_id_fkey FOREIGN KEY (shop_id, order_id) REFERENCES orders(shop_id, id) ON DELETE SET NULL (order_id),
    ADD CONSTRAINT tickets_assignee_id_fkey FOREIGN KEY (shop_id, assignee_id) REFERENCES users(shop_id, id) ON DELETE SET NULL (assignee_id);

ALTER TABLE ticket_messages
    DROP CONSTRAINT ticket_messages_ticket_id_fkey,
    DROP CONSTRAINT ticket_messages_author_user_id_fkey,
    ADD CONSTRAINT ticket_messages_ticket_id_fkey FOREIGN KEY (shop_id, ticket_id) REFERENCES tickets(shop_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT ticket_messages_author_user_id_fkey FOREIGN KEY (shop_id, author_user_id) REFERENCES users(shop_id, id) ON DELETE SET NULL (author_user_id);
