'use strict';
// The record classes: writes judged by the rules engine, reads scoped to the user's sites.

const {
  SITE_SCOPED, pointerId, actorOf, isAdmin, fetchMaster, sitePointers,
} = require('./common');
const rules = require('./rules');

// ---------------------------------------------------------------- writes

// Every write of a record class is judged by the rules engine (rules.js) from the rulebook
// that server-setup publishes; nothing about a class's rules is written here. The classes
// are named so their triggers exist from the start (no write slips in before the rulebook
// is read); the accounts (accounts.js) and the audit trail (trail.js) have their own.
const GUARDED = ['AuditSite', ...SITE_SCOPED];
for (const className of GUARDED) rules.register(className);

// The owner of a site is always also assigned to it.
Parse.Cloud.afterSave('AuditSite', async req => {
  const ownerId = pointerId(req.object.get('siteOwner'));
  if (!ownerId) return;
  const owner = await fetchMaster(Parse.User, ownerId);
  if (!owner) return;
  const sites = (owner.get('sites') || []).map(pointerId);
  if (!sites.includes(req.object.id)) {
    owner.addUnique('sites', { __type: 'Pointer', className: 'AuditSite', objectId: req.object.id });
    await owner.save(null, { useMasterKey: true });
  }
});

// ---------------------------------------------------------------- reads

function scopeWhere(query, scope) {
  const where = query._where || {};
  query._where = Object.keys(where).length ? { $and: [where, scope] } : scope;
}

for (const className of SITE_SCOPED) {
  Parse.Cloud.beforeFind(className, async req => {
    if (req.master) return;
    const actor = await actorOf(req);
    if (isAdmin(actor)) return;
    scopeWhere(req.query, { site: { $in: sitePointers([...actor.sites]) } });
  });
}

Parse.Cloud.beforeFind('AuditSite', async req => {
  if (req.master) return;
  const actor = await actorOf(req);
  if (isAdmin(actor)) return;
  scopeWhere(req.query, { objectId: { $in: [...actor.sites] } });
});

Parse.Cloud.beforeFind('AuditTrailEvent', async req => {
  if (req.master) return;
  const actor = await actorOf(req);
  if (isAdmin(actor)) return;
  scopeWhere(req.query, {
    $or: [{ siteId: { $in: [...actor.sites] } }, { siteId: { $exists: false } }],
  });
});

