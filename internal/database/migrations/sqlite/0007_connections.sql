-- A shop's connection to each integration it uses (Loop now; Shopify and
-- mail accounts next): its sealed credentials and what the provider said
-- about them. A credential takes effect when it is saved, for the hub and
-- the helpdesk alike, so it lives here and not in the draft/published
-- settings, which keep only what shoppers see.
CREATE TABLE connections (
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    provider            TEXT    NOT NULL,
    credentials         TEXT    NOT NULL,
    scopes              TEXT    NOT NULL DEFAULT '{}',
    status              TEXT    NOT NULL,
    checked_at          INTEGER,
    updated_at          INTEGER NOT NULL,
    PRIMARY KEY (shop_id, provider)
);

-- Existing Loop keys move over as they are: the settings stored them sealed
-- by the same secret box (hdsec:v<n>:…), so no re-sealing is needed. The
-- draft's key is the latest one saved; the published one counts only when
-- the draft has none.
INSERT INTO connections (shop_id, provider, credentials, scopes, status, checked_at, updated_at)
SELECT shop_id, 'loop', json_extract(r, '$.loop_api_key'),
       COALESCE(json_remove(json_extract(r, '$.key_check'), '$.checked_at'), '{}'),
       CASE WHEN json_extract(r, '$.key_check.orders') = 'granted'
              OR json_extract(r, '$.key_check.returns') = 'granted'
              OR json_extract(r, '$.key_check.developer_tools') = 'granted'
            THEN 'connected' ELSE 'unverified' END,
       CAST(ROUND((julianday(json_extract(r, '$.key_check.checked_at')) - 2440587.5) * 86400000) AS INTEGER),
       draft_updated_at
FROM (SELECT shop_id, draft_updated_at,
             CASE WHEN COALESCE(json_extract(draft, '$.returns.loop_api_key'), '') <> ''
                  THEN json_extract(draft, '$.returns') ELSE json_extract(published, '$.returns') END AS r
      FROM shop_settings)
WHERE COALESCE(json_extract(r, '$.loop_api_key'), '') <> '';

UPDATE shop_settings SET
    draft = json_remove(draft, '$.returns.loop_api_key', '$.returns.loop_key_last4', '$.returns.key_check'),
    published = json_remove(published, '$.returns.loop_api_key', '$.returns.loop_key_last4', '$.returns.key_check');
