-- Fan-out of notifying events to subscribers, and one-click unsubscribe (RFC 8058) links.
ALTER TABLE events ADD COLUMN fanned_out_at BIGINT;
-- Events written before fan-out existed are history, not news: never mail them on upgrade.
UPDATE events SET fanned_out_at = created_at;
CREATE INDEX events_fan_out ON events (fanned_out_at, id);

-- One row per mailed unsubscribe link (`sbu_`); SHA-256 of the secret only.
CREATE TABLE unsubscribe_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    subscriber_id BIGINT NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX unsubscribe_tokens_subscriber ON unsubscribe_tokens (subscriber_id);
