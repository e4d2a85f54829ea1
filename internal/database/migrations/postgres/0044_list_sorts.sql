-- The desk's customers and orders lists sort by more than their newest
-- rows: customers by when they were created (keyset on created_at, id) and
-- orders by their total. Each sort pages through its own index.
CREATE INDEX customers_created ON customers(shop_id, created_at DESC, id DESC);
CREATE INDEX orders_total ON orders(shop_id, total_minor DESC, id DESC);
