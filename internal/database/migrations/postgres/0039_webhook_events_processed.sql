-- Only processed events are looked up by processed_at (the purge of those
-- past the retention), so only they are indexed by it. An index holding
-- the unprocessed events too was taken by PostgreSQL to claim a chunk of
-- events (`processed_at IS NULL AND id IN (…)`) whenever its statistics
-- said no event was waiting — after a quiet spell, exactly when a burst
-- arrives: each claim then read the whole backlog instead of its own
-- rows by id, and a drain of n events cost n² row visits.
DROP INDEX webhook_events_processed;
CREATE INDEX webhook_events_processed ON webhook_events(processed_at) WHERE processed_at IS NOT NULL;
