-- Webhook subscriptions and delivery records.
-- A subscriber is one address per page; its `channel` is `email` or `webhook`. A webhook
-- subscription keeps the owner's address in `email` (who confirms it and manages it) and posts
-- notifications to `webhook_url`, signed with `webhook_secret` (Standard Webhooks). The secret is
-- stored as is: signing needs it, and it grants nothing on StatiBeat's side.
ALTER TABLE subscribers ADD COLUMN webhook_secret TEXT;

-- Which subscriber an outbox row notifies (NULL for link mail), so that a hard failure can move
-- the subscriber to a hygiene state and a webhook row can find its current URL and secret.
ALTER TABLE outbox ADD COLUMN subscriber_id BIGINT;
CREATE INDEX outbox_subscriber ON outbox (subscriber_id);

-- Every failed delivery attempt (a success is the outbox row's `sent_at`).
CREATE TABLE outbox_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id BIGINT NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    attempted_at BIGINT NOT NULL,
    status_code BIGINT,
    error TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    final BIGINT NOT NULL
);
CREATE INDEX outbox_attempts_outbox ON outbox_attempts (outbox_id, id);
