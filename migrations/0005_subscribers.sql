-- Subscribers (double opt-in), their component scope, magic tokens (emailed link tokens and the
-- magic sessions they are exchanged for; SHA-256 only), and the durable mail/webhook outbox.
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    email TEXT,
    webhook_url TEXT,
    state TEXT NOT NULL,
    hygiene TEXT NOT NULL,
    incidents BIGINT NOT NULL,
    maintenances BIGINT NOT NULL,
    all_components BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    unsubscribed_at BIGINT,
    UNIQUE (page_id, email),
    UNIQUE (page_id, webhook_url)
);

CREATE TABLE subscriber_items (
    subscriber_id BIGINT NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    item_id BIGINT NOT NULL REFERENCES hierarchy_items(id) ON DELETE CASCADE,
    PRIMARY KEY (subscriber_id, item_id)
);

CREATE TABLE magic_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    idle_until BIGINT,
    used_at BIGINT
);
CREATE INDEX magic_tokens_email ON magic_tokens (page_id, email);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    headers TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id);
