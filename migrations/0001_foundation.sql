-- Tenancy, credentials and audit. Times are epoch milliseconds; booleans are 0/1 integers.
CREATE TABLE orgs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

CREATE TABLE org_members (
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);

CREATE TABLE pages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    internal_key TEXT NOT NULL,
    url_prefix TEXT NOT NULL UNIQUE,
    visibility TEXT NOT NULL,
    viewer_password_hash TEXT,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT,
    UNIQUE (org_id, internal_key)
);

CREATE TABLE page_members (
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (page_id, user_id)
);

CREATE TABLE custom_domains (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL UNIQUE REFERENCES pages(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    challenge_value TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    verified_at BIGINT,
    last_checked_at BIGINT
);
-- Several pages may claim a domain while pending; only one can hold it verified.
CREATE UNIQUE INDEX custom_domains_verified ON custom_domains (domain) WHERE verified_at IS NOT NULL;

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    page_id BIGINT REFERENCES pages(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    notes TEXT NOT NULL,
    permission TEXT NOT NULL,
    role_key TEXT NOT NULL,
    terraform_managed BIGINT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_hint TEXT NOT NULL,
    previous_hash TEXT,
    previous_valid_until BIGINT,
    created_by_kind TEXT NOT NULL,
    created_by_id BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    rotated_at BIGINT,
    last_used_at BIGINT,
    last_used_ip TEXT
);
CREATE INDEX api_tokens_previous ON api_tokens (previous_hash);
CREATE INDEX api_tokens_scope ON api_tokens (org_id, page_id, id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    ip TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE viewer_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    org_id BIGINT,
    page_id BIGINT,
    actor_kind TEXT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id BIGINT,
    ip TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_scope ON audit_log (org_id, page_id, id);
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id, id);
