'use strict';
// The audit trail on the server.

const {
  ROLES, SITE_SCOPED, PROTECTED_USER_FIELDS, SECRET_USER_FIELDS, TOMBSTONE, LOG_TYPE_CLASS, E,
  denied, invalid, pointerId, actorOf, isAdmin, requireRole, requireSite, changed, blank, asDate,
  fetchMaster, sitePointers, escapeRegex,
} = require('./common');

// ---------------------------------------------------------------- the audit trail

Parse.Cloud.beforeSave('AuditTrailEvent', async req => {
  // Append-only for everyone, the master key included.
  if (req.original) throw denied('audit trail events cannot be changed');
  if (!req.master) {
    await actorOf(req);
  }
  for (const f of ['deviceId', 'seq', 'action', 'prevHash', 'hash']) {
    if (blank(req.object.get(f))) throw invalid(f, 'is required');
  }
});

Parse.Cloud.beforeDelete('AuditTrailEvent', () => {
  throw denied('audit trail events cannot be deleted');
});

