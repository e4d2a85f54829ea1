-- Shops are the tenants; every other table carries shop_id.
CREATE TABLE shops (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                TEXT    NOT NULL,
    domain              TEXT    NOT NULL UNIQUE,
    client_secret       TEXT    NOT NULL DEFAULT '',
    locale              TEXT    NOT NULL DEFAULT 'en',
    currency            TEXT    NOT NULL DEFAULT 'USD',
    created_at          BIGINT  NOT NULL
);

CREATE TABLE users (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    email               TEXT    NOT NULL UNIQUE,
    name                TEXT    NOT NULL DEFAULT '',
    role                TEXT    NOT NULL CHECK (role IN ('owner','admin','manager','agent')),
    password_hash       TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL
);
CREATE INDEX users_shop ON users(shop_id);

CREATE TABLE sessions (
    token_hash          TEXT    PRIMARY KEY,
    user_id             BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    created_at          BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL
);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE api_tokens (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    user_id             BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name                TEXT    NOT NULL DEFAULT '',
    token_hash          TEXT    NOT NULL UNIQUE,
    created_at          BIGINT  NOT NULL,
    last_used_at        BIGINT
);

CREATE TABLE customers (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    external_id         TEXT    NOT NULL,
    email               TEXT    NOT NULL DEFAULT '',
    first_name          TEXT    NOT NULL DEFAULT '',
    last_name           TEXT    NOT NULL DEFAULT '',
    phone               TEXT    NOT NULL DEFAULT '',
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    UNIQUE (shop_id, external_id)
);
CREATE INDEX customers_email ON customers(shop_id, email);

CREATE TABLE orders (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    external_id         TEXT    NOT NULL,
    customer_id         BIGINT  REFERENCES customers(id) ON DELETE SET NULL,
    name                TEXT    NOT NULL,
    email               TEXT    NOT NULL DEFAULT '',
    financial_status    TEXT    NOT NULL DEFAULT '',
    fulfillment_status  TEXT    NOT NULL DEFAULT '',
    currency            TEXT    NOT NULL,
    subtotal_minor      BIGINT  NOT NULL DEFAULT 0,
    shipping_minor      BIGINT  NOT NULL DEFAULT 0,
    tax_minor           BIGINT  NOT NULL DEFAULT 0,
    total_minor         BIGINT  NOT NULL DEFAULT 0,
    ship_name           TEXT    NOT NULL DEFAULT '',
    ship_address1       TEXT    NOT NULL DEFAULT '',
    ship_address2       TEXT    NOT NULL DEFAULT '',
    ship_city           TEXT    NOT NULL DEFAULT '',
    ship_province       TEXT    NOT NULL DEFAULT '',
    ship_zip            TEXT    NOT NULL DEFAULT '',
    ship_country_code   TEXT    NOT NULL DEFAULT '',
    ship_phone          TEXT    NOT NULL DEFAULT '',
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    cancelled_at        BIGINT,
    UNIQUE (shop_id, external_id)
);
CREATE INDEX orders_customer ON orders(shop_id, customer_id, created_at DESC, id DESC);
CREATE INDEX orders_recent ON orders(shop_id, created_at DESC, id DESC);
CREATE INDEX orders_name ON orders(shop_id, name);

CREATE TABLE line_items (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL,
    order_id            BIGINT  NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    position            BIGINT  NOT NULL,
    external_id         TEXT    NOT NULL DEFAULT '',
    variant_id          TEXT    NOT NULL DEFAULT '',
    variant_available   BOOLEAN NOT NULL DEFAULT TRUE,
    sku                 TEXT    NOT NULL DEFAULT '',
    title               TEXT    NOT NULL,
    variant_title       TEXT    NOT NULL DEFAULT '',
    quantity            BIGINT  NOT NULL,
    current_quantity    BIGINT  NOT NULL,
    price_minor         BIGINT  NOT NULL DEFAULT 0,
    image_url           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX line_items_order ON line_items(order_id, position);

CREATE TABLE fulfillments (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL,
    order_id            BIGINT  NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    external_id         TEXT    NOT NULL,
    status              TEXT    NOT NULL DEFAULT 'success',
    shipment_status     TEXT    NOT NULL DEFAULT '',
    carrier             TEXT    NOT NULL DEFAULT '',
    tracking_number     TEXT    NOT NULL DEFAULT '',
    tracking_url        TEXT    NOT NULL DEFAULT '',
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    in_transit_at       BIGINT,
    delivered_at        BIGINT,
    estimated_delivery_at BIGINT,
    UNIQUE (order_id, external_id)
);
