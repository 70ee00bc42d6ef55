-- Mail that belongs to no page (an invitation to an org) waits in the same outbox: `page_id`
-- becomes optional. SQLite cannot drop a NOT NULL constraint, so the table is rebuilt; its
-- attempts are set aside first, because dropping `outbox` would cascade into them, and both
-- tables' id high-water marks are carried over, so no id is ever handed out twice.
CREATE TABLE sequence_keep AS SELECT name, seq FROM sqlite_sequence WHERE name IN ('outbox', 'outbox_attempts');
CREATE TABLE outbox_attempts_keep AS SELECT * FROM outbox_attempts;
DROP TABLE outbox_attempts;
CREATE TABLE outbox_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT REFERENCES pages(id) ON DELETE CASCADE,
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
    sent_at BIGINT,
    locked_until BIGINT NOT NULL DEFAULT 0,
    subscriber_id BIGINT
);
INSERT INTO outbox_rebuilt (id, page_id, channel, dedupe_key, recipient, subject, body_text, body_html, headers,
    state, attempts, next_attempt_at, last_error, created_at, sent_at, locked_until, subscriber_id)
SELECT id, page_id, channel, dedupe_key, recipient, subject, body_text, body_html, headers,
    state, attempts, next_attempt_at, last_error, created_at, sent_at, locked_until, subscriber_id FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id);
CREATE INDEX outbox_subscriber ON outbox (subscriber_id);
CREATE TABLE outbox_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id BIGINT NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    attempted_at BIGINT NOT NULL,
    status_code BIGINT,
    error TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    final BIGINT NOT NULL
);
INSERT INTO outbox_attempts (id, outbox_id, attempted_at, status_code, error, duration_ms, final)
SELECT id, outbox_id, attempted_at, status_code, error, duration_ms, final FROM outbox_attempts_keep;
DROP TABLE outbox_attempts_keep;
CREATE INDEX outbox_attempts_outbox ON outbox_attempts (outbox_id, id);
DELETE FROM sqlite_sequence WHERE name IN ('outbox', 'outbox_rebuilt', 'outbox_attempts');
INSERT INTO sqlite_sequence (name, seq) SELECT name, seq FROM sequence_keep;
DROP TABLE sequence_keep;
