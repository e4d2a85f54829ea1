-- The hub's contact limits count a shop's hub tickets of the last hour on
-- every message a shopper sends (ticket.OpenFromHub); this keeps that a
-- range scan however many tickets the shop has. The per-shopper count and
-- the repeat check use tickets_customer.
CREATE INDEX tickets_channel_created ON tickets(shop_id, channel, created_at);
