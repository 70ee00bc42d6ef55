-- Accounts are created only by their owner: adding someone who is not yet a member of the org is an
-- invitation, mailed as a single-use, expiring link (SHA-256 of the `sbi_` token only). Accepting it
-- creates the account (the invitee sets their own password) or joins an existing one.
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    page_id BIGINT REFERENCES pages(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX invitations_org ON invitations (org_id, id);
CREATE INDEX invitations_email ON invitations (org_id, email);
