-- Schema version 6: the audit trail in chains per (device, site), signed.
-- Events journaled before keep their per-device chain ("legacy": chain = deviceId) and their
-- hashes; new events go to "<deviceId>/<siteId>" or "<deviceId>/-" (no site), with seq from 1
-- per chain, the id of the key that signed them and, on the last event a transaction
-- appended to a chain, the signature over that head. The migration step that runs this file
-- makes the laptop's device key and gives the laptop its new device id (derived from that key).
ALTER TABLE "audit_trail_event" ADD COLUMN "chain" TEXT;
ALTER TABLE "audit_trail_event" ADD COLUMN "keyId" TEXT;
ALTER TABLE "audit_trail_event" ADD COLUMN "signature" TEXT;
DROP TRIGGER "audit_trail_event_no_update";
UPDATE "audit_trail_event" SET "chain" = "deviceId";
CREATE TRIGGER "audit_trail_event_no_update" BEFORE UPDATE ON "audit_trail_event"
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
DROP INDEX "audit_trail_event_deviceId_seq";
CREATE UNIQUE INDEX "audit_trail_event_chain_seq" ON "audit_trail_event" ("chain", "seq");
-- Public keys that sign the trail: this laptop's own (made here) and everyone's (pulled).
-- user is NULL for a device key. statement is the text the certificate signs.
CREATE TABLE "trail_key" ("keyId" TEXT NOT NULL PRIMARY KEY, "user" TEXT, "deviceId" TEXT NOT NULL, "publicKey" TEXT NOT NULL, "statement" TEXT NOT NULL, "certificate" TEXT NOT NULL, "passProof" TEXT, "createdAt" TEXT NOT NULL, "registeredAt" TEXT, "registeredBy" TEXT, "revokedAt" TEXT, "made" INTEGER NOT NULL DEFAULT 0);
CREATE INDEX "trail_key_user_device" ON "trail_key" ("user", "deviceId");
-- Private keys made here: a user's sealed with a key derived from their password (argon2id,
-- AES-GCM); the device key (which signs only events without an actor) as it is.
CREATE TABLE "trail_secret" ("keyId" TEXT NOT NULL PRIMARY KEY, "sealed" TEXT, "plain" TEXT, "params" TEXT);
-- The heads this laptop wrote on its own chains (a chain cut short at its end shows).
CREATE TABLE "trail_head" ("chain" TEXT NOT NULL PRIMARY KEY, "seq" INTEGER NOT NULL, "hash" TEXT NOT NULL);
-- What the server found when it verified the chains recorded before the upgrade.
CREATE TABLE "trail_legacy" ("chain" TEXT NOT NULL PRIMARY KEY, "events" INTEGER NOT NULL, "headSeq" INTEGER, "headHash" TEXT, "verified" INTEGER NOT NULL, "problem" TEXT, "verifiedAt" TEXT);
-- Pulled events waiting for the links before them, or held back because they do not verify.
CREATE TABLE "trail_inbox" ("objectId" TEXT NOT NULL PRIMARY KEY, "chain" TEXT NOT NULL, "seq" INTEGER NOT NULL, "event" TEXT NOT NULL, "problem" TEXT, "at" TEXT NOT NULL);
CREATE INDEX "trail_inbox_chain_seq" ON "trail_inbox" ("chain", "seq");
