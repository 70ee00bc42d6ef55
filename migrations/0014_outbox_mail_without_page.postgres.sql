-- PostgreSQL drops the constraint in place (see the SQLite file of the same number).
ALTER TABLE outbox ALTER COLUMN page_id DROP NOT NULL;
