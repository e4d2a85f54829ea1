-- Team management: invitations to join a shop's staff and password reset
-- links. Only a SHA-256 of each link's token is stored, so a leaked
-- database holds no usable link. The parent key lets these rows name a
-- user of the same shop.
CREATE UNIQUE INDEX IF NOT EXISTS users_shop_id_key ON users(shop_id, id);

CREATE TABLE invitations (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    email               TEXT    NOT NULL,
    name                TEXT    NOT NULL DEFAULT '',
    role                TEXT    NOT NULL CHECK (role IN ('owner','admin','manager','agent')),
    token_hash          TEXT    NOT NULL UNIQUE,
    invited_by          BIGINT  NOT NULL,
    created_at          BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL,
    accepted_at         BIGINT,
    revoked_at          BIGINT,
    user_id             BIGINT,
    FOREIGN KEY (shop_id, invited_by) REFERENCES users(shop_id, id),
    FOREIGN KEY (shop_id, user_id) REFERENCES users(shop_id, id)
);
CREATE INDEX invitations_shop_email ON invitations(shop_id, email);

CREATE TABLE password_resets (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    user_id             BIGINT  NOT NULL,
    token_hash          TEXT    NOT NULL UNIQUE,
    requested_by        BIGINT,
    created_at          BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL,
    used_at             BIGINT,
    FOREIGN KEY (shop_id, user_id) REFERENCES users(shop_id, id),
    FOREIGN KEY (shop_id, requested_by) REFERENCES users(shop_id, id)
);
CREATE INDEX password_resets_shop_user ON password_resets(shop_id, user_id);
