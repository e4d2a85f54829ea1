-- Refunds Shopify reported (refunds/create): a JSON array, oldest first,
-- of {id, created_at, amount_minor, currency, lines: [{line_item_id,
-- quantity, subtotal_minor, restock_type}]}, the line items' platform ids;
-- and their sum in the order's minor units. No personal data (the
-- refund's note is not kept). A repeated refund id is applied once.
ALTER TABLE orders ADD COLUMN refunds TEXT NOT NULL DEFAULT '[]';
ALTER TABLE orders ADD COLUMN refunded_minor BIGINT NOT NULL DEFAULT 0;
