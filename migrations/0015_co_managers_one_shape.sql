-- Co-managers of views and of feeds are kept by one store module (`store::co_managers`), so their
-- two tables get one shape: (resource key, email, added_at). Only the column name differed; the
-- two tables stay apart because each keeps its foreign key, and with it the cascade that takes a
-- resource's co-managers when the view, the feed or the page goes. SQLite ≥ 3.25 and PostgreSQL
-- both rename a column in place, rows untouched.
ALTER TABLE reader_feed_managers RENAME COLUMN created_at TO added_at;
