-- Optimistic concurrency for incidents: every write names the version it read.
ALTER TABLE incidents ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
