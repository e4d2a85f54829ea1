-- Offboarding: a disabled user keeps their history but cannot sign in, and
-- their sessions and API tokens stop working (checked on every request).
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
ALTER TABLE users ADD COLUMN last_login_at INTEGER;
-- The Staff page lists every token of a shop with its owner.
CREATE INDEX api_tokens_shop_user ON api_tokens(shop_id, user_id);
