-- A shop's connection to each integration it uses (Loop now; Shopify and
-- mail accounts next): its sealed credentials and what the provider said
-- about them. A credential takes effect when it is saved, for the hub and
-- the helpdesk alike, so it lives here and not in the draft/published
-- settings, which keep only what shoppers see.
CREATE TABLE connections (
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    provider            TEXT    NOT NULL,
    credentials         TEXT    NOT NULL,
    scopes              TEXT    NOT NULL DEFAULT '{}',
    status              TEXT    NOT NULL,
    checked_at          BIGINT,
    updated_at          BIGINT  NOT NULL,
    PRIMARY KEY (shop_id, provider)
);

-- Existing Loop keys move over as they are: the settings stored them sealed
-- by the same secret box (hdsec:v<n>:…), so no re-sealing is needed. The
-- draft's key is the latest one saved; the published one counts only when
-- the draft has none.
INSERT INTO connections (shop_id, provider, credentials, scopes, status, checked_at, updated_at)
SELECT shop_id, 'loop', r->>'loop_api_key',
       COALESCE(((r->'key_check') - 'checked_at')::text, '{}'),
       CASE WHEN 'granted' IN (r->'key_check'->>'orders', r->'key_check'->>'returns', r->'key_check'->>'developer_tools')
            THEN 'connected' ELSE 'unverified' END,
       (EXTRACT(EPOCH FROM (r->'key_check'->>'checked_at')::timestamptz) * 1000)::BIGINT,
       draft_updated_at
FROM (SELECT shop_id, draft_updated_at,
             CASE WHEN COALESCE(draft::jsonb->'returns'->>'loop_api_key', '') <> ''
                  THEN draft::jsonb->'returns' ELSE published::jsonb->'returns' END AS r
      FROM shop_settings) s
WHERE COALESCE(r->>'loop_api_key', '') <> '';

UPDATE shop_settings SET
    draft = (draft::jsonb #- '{returns,loop_api_key}' #- '{returns,loop_key_last4}' #- '{returns,key_check}')::text,
    published = (published::jsonb #- '{returns,loop_api_key}' #- '{returns,loop_key_last4}' #- '{returns,key_check}')::text;
