-- Fan-out runs in chunks of recipients, one transaction each, so a page with many subscribers
-- never holds the write lock for long. A worker takes an event with a lease (renewed with every
-- chunk); `fanned_out_at` is set when the last chunk is queued. A worker that dies mid-way leaves
-- the lease to run out and the next one redoes the event, the outbox's de-duplication key
-- skipping every message already queued.
ALTER TABLE events ADD COLUMN fan_out_lease BIGINT NOT NULL DEFAULT 0;
