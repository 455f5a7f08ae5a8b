'use strict';
// Live Query scoping.

const {
  ROLES, SITE_SCOPED, PROTECTED_USER_FIELDS, SECRET_USER_FIELDS, TOMBSTONE, LOG_TYPE_CLASS, E,
  denied, invalid, pointerId, actorOf, isAdmin, requireRole, requireSite, changed, blank, asDate,
  fetchMaster, sitePointers, escapeRegex,
} = require('./common');

// Live Query: a subscriber hears only about the sites they are assigned to.
for (const className of ['AuditFinding', 'AuditReview']) {
  Parse.Cloud.beforeSubscribe(className, async req => {
    if (req.master) return;
    const actor = await actorOf(req);
    if (isAdmin(actor)) return;
    req.query.containedIn('site', sitePointers([...actor.sites]));
  });
}
