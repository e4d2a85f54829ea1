-- The calls hubdesk made with each third-party API key in the last rate
-- window, shared by every process on the database: Loop allows 300 calls a
-- minute per key, and three processes pacing themselves alone would send
-- 900. key_id is a fingerprint of the key (never the key); at is when the
-- call was let through, in Unix milliseconds. Rows older than the window
-- are deleted by the next call with the same key. api_rate_keys holds one
-- row per key that a call locks (an upsert) so that checking the window and
-- recording the call happen one process at a time per key.
CREATE TABLE api_rate_keys (
    key_id TEXT PRIMARY KEY,
    calls  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_rate_calls (
    key_id TEXT   NOT NULL,
    at     BIGINT NOT NULL
);

CREATE INDEX api_rate_calls_key_at ON api_rate_calls (key_id, at);
