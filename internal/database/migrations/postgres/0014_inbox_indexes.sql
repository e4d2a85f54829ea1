-- The agent inbox's indexes. The newest-activity views use the indexes of
-- 0003 and 0010 (tickets_inbox, tickets_status, tickets_assignee), spam
-- and merged tickets being few enough to skip. Every inbox view but spam
-- lists live tickets (neither spam nor merged), so the new indexes are
-- partial on exactly that condition, written as the inbox's queries write
-- it. The waiting sort orders by COALESCE(waiting_since, <largest BIGINT>)
-- so tickets nobody waits on come last on both engines (SQLite sorts NULL
-- first, PostgreSQL last); the expression is indexed as the queries write
-- it.
CREATE INDEX tickets_live_waiting ON tickets(shop_id, (COALESCE(waiting_since, 9223372036854775807)), id)
    WHERE spam_at IS NULL AND merged_into_id IS NULL;
CREATE INDEX tickets_live_status_waiting ON tickets(shop_id, status, (COALESCE(waiting_since, 9223372036854775807)), id)
    WHERE spam_at IS NULL AND merged_into_id IS NULL;
CREATE INDEX tickets_live_assignee_waiting ON tickets(shop_id, assignee_id, (COALESCE(waiting_since, 9223372036854775807)), id)
    WHERE spam_at IS NULL AND merged_into_id IS NULL;
-- Mine (or unassigned) narrowed to one status.
CREATE INDEX tickets_live_assignee_status_activity ON tickets(shop_id, assignee_id, status, last_activity_at DESC, id DESC)
    WHERE spam_at IS NULL AND merged_into_id IS NULL;
CREATE INDEX tickets_live_assignee_status_waiting ON tickets(shop_id, assignee_id, status, (COALESCE(waiting_since, 9223372036854775807)), id)
    WHERE spam_at IS NULL AND merged_into_id IS NULL;
-- The navigation's counts: open and pending tickets by assignee, read
-- from the index alone.
CREATE INDEX tickets_live_status_assignee ON tickets(shop_id, status, assignee_id)
    WHERE spam_at IS NULL AND merged_into_id IS NULL;
-- The spam view, newest first.
CREATE INDEX tickets_spam_activity ON tickets(shop_id, last_activity_at DESC, id DESC)
    WHERE spam_at IS NOT NULL;
