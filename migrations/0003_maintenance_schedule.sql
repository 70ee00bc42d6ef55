-- Maintenance scheduling: the scheduler scans unfinished windows by their start and their end
-- across all pages, and views read a window's updates in time order. Partial indexes keep the
-- scans proportional to the windows still pending, not to the whole history.
CREATE INDEX maintenances_pending_start ON maintenances (starts_at)
    WHERE started_at IS NULL AND completed_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX maintenances_pending_end ON maintenances (ends_at)
    WHERE started_at IS NOT NULL AND completed_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX maintenances_page_start ON maintenances (page_id, starts_at, id);
CREATE INDEX maintenance_items_item ON maintenance_items (item_id);
CREATE INDEX maintenance_updates_maintenance ON maintenance_updates (maintenance_id, created_at, id);
