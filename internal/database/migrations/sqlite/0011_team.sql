-- Team management: invitations to join a shop's staff and password reset
-- links. Only a SHA-256 of each link's token is stored, so a leaked
-- database holds no usable link. The parent key lets these rows name a
-- user of the same shop.
CREATE UNIQUE INDEX IF NOT EXISTS users_shop_id_key ON users(shop_id, id);

CREATE TABLE invitations (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    email               TEXT    NOT NULL,
    name                TEXT    NOT NULL DEFAULT '',
    role                TEXT    NOT NULL CHECK (role IN ('owner','admin','manager','agent')),
    token_hash          TEXT    NOT NULL UNIQUE,
    invited_by          INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    accepted_at         INTEGER,
    revoked_at          INTEGER,
    user_id             INTEGER,
    FOREIGN KEY (shop_id, invited_by) REFERENCES users(shop_id, id),
    FOREIGN KEY (shop_id, user_id) REFERENCES users(shop_id, id)
);
CREATE INDEX invitations_shop_email ON invitations(shop_id, email);

CREATE TABLE password_resets (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    user_id             INTEGER NOT NULL,
    token_hash          TEXT    NOT NULL UNIQUE,
    requested_by        INTEGER,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    used_at             INTEGER,
    FOREIGN KEY (shop_id, user_id) REFERENCES users(shop_id, id),
    FOREIGN KEY (shop_id, requested_by) REFERENCES users(shop_id, id)
);
CREATE INDEX password_resets_shop_user ON password_resets(shop_id, user_id);
