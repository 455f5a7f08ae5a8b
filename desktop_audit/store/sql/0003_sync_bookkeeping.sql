-- Schema version 3: the sync's own bookkeeping. A field changed on both sides keeps both
-- values here until someone resolves it; a change the server refused for good waits in
-- quarantine with the reason, never dropped.
CREATE TABLE IF NOT EXISTS "sync_conflict" ("id" INTEGER NOT NULL PRIMARY KEY, "className" TEXT NOT NULL, "objectId" TEXT NOT NULL, "field" TEXT NOT NULL, "mine" TEXT, "theirs" TEXT, "base" TEXT, "theirsUpdatedAt" TEXT, "detectedAt" TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "sync_conflict_field" ON "sync_conflict" ("className", "objectId", "field");
CREATE TABLE IF NOT EXISTS "sync_quarantine" ("className" TEXT NOT NULL, "objectId" TEXT NOT NULL, "code" INTEGER, "reason" TEXT, "at" TEXT NOT NULL, PRIMARY KEY ("className", "objectId"));
