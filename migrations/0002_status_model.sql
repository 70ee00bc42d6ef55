-- The status model: hierarchy, status definitions, lifecycle stages, incidents, maintenance and
-- the event rows that notifications are delivered from. Times are epoch milliseconds.
CREATE TABLE hierarchy_levels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    depth BIGINT NOT NULL,
    singular TEXT NOT NULL,
    plural TEXT NOT NULL,
    UNIQUE (page_id, depth)
);

CREATE TABLE hierarchy_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    depth BIGINT NOT NULL,
    parent_id BIGINT REFERENCES hierarchy_items(id) ON DELETE RESTRICT,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    abbreviation TEXT NOT NULL,
    description TEXT NOT NULL,
    display_order BIGINT NOT NULL,
    metadata TEXT NOT NULL,
    visible BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (page_id, identifier)
);
CREATE INDEX hierarchy_items_parent ON hierarchy_items (page_id, parent_id);

CREATE TABLE status_definitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    severity BIGINT NOT NULL,
    color TEXT NOT NULL,
    downtime_permille BIGINT NOT NULL,
    reserved BIGINT NOT NULL,
    UNIQUE (page_id, key)
);

CREATE TABLE lifecycle_stages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    UNIQUE (page_id, kind, key)
);

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    external_id TEXT,
    request_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    stage TEXT NOT NULL,
    impact TEXT NOT NULL,
    affected_items_freetext TEXT NOT NULL,
    visibility TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    acknowledged_at BIGINT,
    resolved_at BIGINT,
    resolution_message TEXT NOT NULL,
    report_body TEXT NOT NULL,
    report_state TEXT NOT NULL,
    report_published_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (page_id, external_id)
);
CREATE INDEX incidents_open ON incidents (page_id, resolved_at, id);

CREATE TABLE incident_items (
    incident_id BIGINT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    item_id BIGINT NOT NULL REFERENCES hierarchy_items(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    PRIMARY KEY (incident_id, item_id)
);
CREATE INDEX incident_items_item ON incident_items (item_id);

CREATE TABLE incident_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    message TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    item_statuses TEXT NOT NULL,
    notify BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, created_at, id);

-- Per-item impact over time (for uptime): one row per stretch of an item's status in an incident.
CREATE TABLE incident_impacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    item_id BIGINT NOT NULL REFERENCES hierarchy_items(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    from_at BIGINT NOT NULL,
    until_at BIGINT
);
CREATE INDEX incident_impacts_item ON incident_impacts (item_id, from_at);

CREATE TABLE maintenances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    external_id TEXT,
    request_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    impact TEXT NOT NULL,
    affected_items_freetext TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    time_zone TEXT NOT NULL,
    auto_start BIGINT NOT NULL,
    auto_complete BIGINT NOT NULL,
    reminder_minutes BIGINT NOT NULL,
    stage TEXT NOT NULL,
    started_at BIGINT,
    completed_at BIGINT,
    cancelled_at BIGINT,
    reminded_at BIGINT,
    notify BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (page_id, external_id)
);
CREATE INDEX maintenances_due ON maintenances (stage, starts_at);

CREATE TABLE maintenance_items (
    maintenance_id BIGINT NOT NULL REFERENCES maintenances(id) ON DELETE CASCADE,
    item_id BIGINT NOT NULL REFERENCES hierarchy_items(id) ON DELETE CASCADE,
    PRIMARY KEY (maintenance_id, item_id)
);

CREATE TABLE maintenance_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    maintenance_id BIGINT NOT NULL REFERENCES maintenances(id) ON DELETE CASCADE,
    message TEXT NOT NULL,
    stage TEXT NOT NULL,
    notify BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The notification hook: one row per change that should notify, written in the change's own
-- transaction. Delivery (subscribers issue) reads them in id order.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id BIGINT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_page ON events (page_id, id);

-- Every existing page gets the default vocabulary (new pages get it when created).
INSERT INTO status_definitions (page_id, key, name, severity, color, downtime_permille, reserved)
SELECT id, 'operational', 'Operational', 0, '#16a34a', 0, 0 FROM pages;
INSERT INTO status_definitions (page_id, key, name, severity, color, downtime_permille, reserved)
SELECT id, 'degraded', 'Degraded performance', 1, '#ca8a04', 0, 0 FROM pages;
INSERT INTO status_definitions (page_id, key, name, severity, color, downtime_permille, reserved)
SELECT id, 'partial_outage', 'Partial outage', 2, '#ea580c', 300, 0 FROM pages;
INSERT INTO status_definitions (page_id, key, name, severity, color, downtime_permille, reserved)
SELECT id, 'major_outage', 'Major outage', 3, '#dc2626', 1000, 0 FROM pages;
INSERT INTO status_definitions (page_id, key, name, severity, color, downtime_permille, reserved)
SELECT id, 'maintenance', 'Under maintenance', 0, '#2563eb', 0, 1 FROM pages;
INSERT INTO lifecycle_stages (page_id, kind, key, name, position) SELECT id, 'incident', 'investigating', 'Investigating', 0 FROM pages;
INSERT INTO lifecycle_stages (page_id, kind, key, name, position) SELECT id, 'incident', 'identified', 'Identified', 1 FROM pages;
INSERT INTO lifecycle_stages (page_id, kind, key, name, position) SELECT id, 'incident', 'monitoring', 'Monitoring', 2 FROM pages;
INSERT INTO lifecycle_stages (page_id, kind, key, name, position) SELECT id, 'incident', 'resolved', 'Resolved', 3 FROM pages;
INSERT INTO lifecycle_stages (page_id, kind, key, name, position) SELECT id, 'maintenance', 'scheduled', 'Scheduled', 0 FROM pages;
INSERT INTO lifecycle_stages (page_id, kind, key, name, position) SELECT id, 'maintenance', 'in_progress', 'In progress', 1 FROM pages;
INSERT INTO lifecycle_stages (page_id, kind, key, name, position) SELECT id, 'maintenance', 'completed', 'Completed', 2 FROM pages;
INSERT INTO lifecycle_stages (page_id, kind, key, name, position) SELECT id, 'maintenance', 'cancelled', 'Cancelled', 3 FROM pages;
