'use strict';
// What every Cloud Code module shares: the acting user, refusals, small helpers.

const ROLES = ['admin', 'manager', 'coordinator', 'auditor', 'field_staff'];
const SITE_SCOPED = [
  'AspectImpactLog',
  'SpillKitLog',
  'LegalRegisterEntry',
  'AuditReview',
  'AuditFinding',
  'Evidence',
];
// What no session changes on an account, not even its own or an administrator's: the
// master key sets them (an administrator's sync, through saveUsers).
const PROTECTED_USER_FIELDS = ['username', 'role', 'sites', 'active', 'passwordVerifier', 'ACL',
  'deletedAt', 'authData', 'emailVerified'];
const SECRET_USER_FIELDS = ['passwordVerifier'];
const TOMBSTONE = 'deletedAt';
const LOG_TYPE_CLASS = {
  aspect: 'AspectImpactLog',
  spill_kit: 'SpillKitLog',
  legal: 'LegalRegisterEntry',
  review: 'AuditReview',
};

const E = Parse.Error;
function denied(message) {
  return new E(E.OPERATION_FORBIDDEN, message);
}
function invalid(field, message) {
  return new E(142, `${field}: ${message}`);
}

function pointerId(value) {
  if (!value) return null;
  if (typeof value === 'string') return value;
  return value.id || value.objectId || null;
}

// The acting user. Parse Server loads the session's user (all fields) for every
// request and drops that copy whenever the user is saved, so role and sites are
// current without a query per object of a /batch. The copies are kept in the group's
// Redis (index.js), so a save through any process drops them for every process.
async function actorOf(req) {
  if (req.master) return { master: true, role: 'admin', sites: new Set(), id: null };
  if (!req.user) throw new E(E.SESSION_MISSING, 'a signed-in user is required');
  let user = req.user;
  if (user.get('role') === undefined) {
    user = await new Parse.Query(Parse.User).get(req.user.id, { useMasterKey: true });
  }
  if (user.get('active') === false || user.get(TOMBSTONE)) {
    throw denied('this account is deactivated');
  }
  const role = user.get('role');
  const sites = new Set((user.get('sites') || []).map(pointerId).filter(Boolean));
  return { master: false, role: ROLES.includes(role) ? role : null, sites, id: user.id, user };
}

function isAdmin(actor) {
  return actor.master || actor.role === 'admin';
}

function requireRole(actor, roles, what) {
  if (isAdmin(actor)) return;
  if (!roles.includes(actor.role)) {
    throw denied(`a ${actor.role || 'user without a role'} may not ${what}`);
  }
}

function requireSite(actor, siteId, what) {
  if (isAdmin(actor)) return;
  if (!siteId) throw invalid('site', 'is required');
  if (!actor.sites.has(siteId)) throw denied(`not assigned to the site of this record (${what})`);
}

function changed(req, field) {
  if (!req.original) return req.object.get(field) !== undefined;
  return req.object.dirtyKeys().includes(field) &&
    JSON.stringify(req.object.get(field)) !== JSON.stringify(req.original.get(field));
}

function blank(value) {
  return value === undefined || value === null || String(value).trim() === '';
}

function asDate(value) {
  if (!value) return null;
  if (value instanceof Date) return value;
  if (value.iso) return new Date(value.iso);
  return new Date(value);
}

async function fetchMaster(className, id) {
  if (!id) return null;
  return new Parse.Query(className).get(id, { useMasterKey: true }).catch(() => null);
}


function sitePointers(ids) {
  return (ids || []).map(id => ({ __type: 'Pointer', className: 'AuditSite', objectId: pointerId(id) }));
}

// An objectId for an object the server makes itself (the server takes client ids only).
function newObjectId() {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(require('crypto').randomBytes(10), b => alphabet[b % 62]).join('');
}

function escapeRegex(text) {
  return String(text).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

module.exports = {
  ROLES, SITE_SCOPED, PROTECTED_USER_FIELDS, SECRET_USER_FIELDS, TOMBSTONE, LOG_TYPE_CLASS, E,
  denied, invalid, pointerId, actorOf, isAdmin, requireRole, requireSite, changed, blank, asDate,
  fetchMaster, sitePointers, escapeRegex, newObjectId,
};
