-- A reader's feed may follow a custom view: its scope is then the view's components, read live at
-- every fetch, and the feed of a protected view is reachable only through its capability path.
-- Deleting the view deletes the feeds that follow it.
ALTER TABLE reader_feeds ADD COLUMN view_id BIGINT REFERENCES custom_views(id) ON DELETE CASCADE;
