-- Schema version 4: each site has an IANA time zone; a due date is a date at the site.
-- Existing sites get the laptop's zone (set by the migration step that runs this file).
ALTER TABLE "audit_site" ADD COLUMN "timeZone" TEXT;
