-- Custom views (SPEC §6): a named, filtered view of one page, its selected components (by
-- identifier, so a deleted component can be reported), its co-managers, and the binding of
-- viewer-access magic tokens to one view.
CREATE TABLE custom_views (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    short_code TEXT NOT NULL UNIQUE,
    alias TEXT,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    access_mode TEXT NOT NULL,
    allowed_domains TEXT NOT NULL,
    allowed_emails TEXT NOT NULL,
    owner_email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (page_id, alias)
);
CREATE INDEX custom_views_owner ON custom_views (page_id, owner_email);

CREATE TABLE custom_view_components (
    view_id BIGINT NOT NULL REFERENCES custom_views(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    identifier TEXT NOT NULL,
    PRIMARY KEY (view_id, position)
);

CREATE TABLE custom_view_managers (
    view_id BIGINT NOT NULL REFERENCES custom_views(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (view_id, email)
);
CREATE INDEX custom_view_managers_email ON custom_view_managers (email);

-- Viewer-access links (`view_link`) and viewer sessions (`view_session`) are magic tokens bound
-- to one view; they end with it.
ALTER TABLE magic_tokens ADD COLUMN view_id BIGINT REFERENCES custom_views(id) ON DELETE CASCADE;
