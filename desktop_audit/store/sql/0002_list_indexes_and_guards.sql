-- Schema version 2: indexes for the list views' SQL filters and sorts, the sync
-- outbox and the trail, and triggers that keep the audit trail append-only.
CREATE INDEX "audit_finding_site_closed_dueDate" ON "audit_finding" ("site", "closed", "dueDate");
CREATE INDEX "audit_finding_severity" ON "audit_finding" ("severity");
CREATE INDEX "audit_finding_updatedAt" ON "audit_finding" ("updatedAt");
CREATE INDEX "aspect_impact_log_site_riskRating" ON "aspect_impact_log" ("site", "riskRating");
CREATE INDEX "spill_kit_log_site_replenishment" ON "spill_kit_log" ("site", "replenishmentNeeded");
CREATE INDEX "legal_register_entry_site_dueDate" ON "legal_register_entry" ("site", "dueDate");
CREATE INDEX "audit_review_site_auditDate" ON "audit_review" ("site", "auditDate");
CREATE INDEX "evidence_parent" ON "evidence" ("parentClass", "parentId");
CREATE INDEX "evidence_sha256" ON "evidence" ("sha256");
CREATE INDEX "audit_trail_event_record" ON "audit_trail_event" ("recordClass", "recordId");
CREATE INDEX "audit_trail_event_at" ON "audit_trail_event" ("at");
CREATE TRIGGER "audit_trail_event_no_update" BEFORE UPDATE ON "audit_trail_event"
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER "audit_trail_event_no_delete" BEFORE DELETE ON "audit_trail_event"
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
