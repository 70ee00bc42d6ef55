-- Readers' own feeds (SPEC §6): a filtered Atom/RSS feed of one page, owned by an email address
-- and managed through magic sessions. `capability_hash` is the SHA-256 of the feed's `sbf_`
-- capability (NULL until one is issued); `cache_version` is part of the ETag, so an admin's
-- "invalidate" makes every client refetch.
CREATE TABLE reader_feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    short_code TEXT NOT NULL UNIQUE,
    capability_hash TEXT UNIQUE,
    owner_email TEXT NOT NULL,
    all_components BIGINT NOT NULL,
    incidents BIGINT NOT NULL,
    maintenances BIGINT NOT NULL,
    max_items BIGINT NOT NULL,
    max_age_days BIGINT,
    format TEXT NOT NULL,
    cache_version BIGINT NOT NULL,
    fetch_count BIGINT NOT NULL,
    last_fetched_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX reader_feeds_owner ON reader_feeds (page_id, owner_email);

CREATE TABLE reader_feed_items (
    feed_id BIGINT NOT NULL REFERENCES reader_feeds(id) ON DELETE CASCADE,
    item_id BIGINT NOT NULL REFERENCES hierarchy_items(id) ON DELETE CASCADE,
    PRIMARY KEY (feed_id, item_id)
);

CREATE TABLE reader_feed_managers (
    feed_id BIGINT NOT NULL REFERENCES reader_feeds(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (feed_id, email)
);
CREATE INDEX reader_feed_managers_email ON reader_feed_managers (email);
