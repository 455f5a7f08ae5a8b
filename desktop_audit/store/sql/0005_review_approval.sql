-- Schema version 5: who approved an audit review and when (the actor and time of the
-- journaled approval, like closedBy / closedAt of a finding). Reviews approved before
-- get them from their latest approval in the audit trail (the step's Python part).
ALTER TABLE "audit_review" ADD COLUMN "approvedBy" VARCHAR(10) REFERENCES "user" ("objectId");
ALTER TABLE "audit_review" ADD COLUMN "approvedAt" TEXT;
