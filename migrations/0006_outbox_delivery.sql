-- Outbox delivery: a lease so that several instances never send one row at the same time.
-- A worker claims a due row by moving `locked_until` into the future in a conditional UPDATE;
-- a worker that dies mid-send leaves the lease to expire and the row is claimed again.
ALTER TABLE outbox ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;
