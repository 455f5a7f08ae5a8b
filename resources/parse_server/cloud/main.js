'use strict';
// desktop_audit rules, enforced on the server too (see shared design DOMAIN.md).
//
// Who may write what comes from the `role` and `sites` fields of the signed-in
// _User. The master key is the administrator's tool and passes the role checks,
// but the data-integrity rules (the audit trail is append-only) hold for it too.
// The Parse schema itself is generated from desktop_audit/schema.py by
// `desktop-audit server-setup`; this file names only the fields its rules need.

const crypto = require('crypto');
const { argon2Verify } = require('hash-wasm');

Parse.allowCustomObjectId = true;

const ROLES = ['admin', 'manager', 'coordinator', 'auditor', 'field_staff'];
const SITE_SCOPED = [
  'AspectImpactLog',
  'SpillKitLog',
  'LegalRegisterEntry',
  'AuditReview',
  'AuditFinding',
  'Evidence',
];
const PROTECTED_USER_FIELDS = ['role', 'sites', 'active', 'passwordVerifier'];
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
// current without a query per object of a /batch.
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

// ---------------------------------------------------------------- users

Parse.Cloud.beforeSave(Parse.User, async req => {
  const isNew = !req.original;
  if (isNew && !req.object.getACL()) {
    // Colleagues can see each other (records point at users); only the account
    // itself (added by Parse Server) and the master key write it.
    const acl = new Parse.ACL();
    acl.setPublicReadAccess(true);
    req.object.setACL(acl);
  }
  if (req.master) return;
  if (isNew && !req.user) {
    throw denied('accounts are created by an administrator');
  }
  const actor = await actorOf(req);
  if (isAdmin(actor)) {
    if (changed(req, 'passwordVerifier')) throw denied('passwordVerifier is set by the server only');
    if (changed(req, 'role') && req.object.get('role') !== undefined &&
        !ROLES.includes(req.object.get('role'))) {
      throw invalid('role', `must be one of ${ROLES.join(', ')}`);
    }
    return;
  }
  if (isNew) throw denied('accounts are created by an administrator');
  for (const f of PROTECTED_USER_FIELDS) {
    if (changed(req, f)) throw denied(`${f} can be changed by an administrator only`);
  }
});

Parse.Cloud.beforeDelete(Parse.User, async req => {
  if (req.master) return;
  const actor = await actorOf(req);
  if (!isAdmin(actor)) throw denied('only an administrator deletes accounts');
});

Parse.Cloud.afterFind(Parse.User, req => {
  if (req.master) return req.objects;
  for (const o of req.objects) {
    for (const f of SECRET_USER_FIELDS) o.unset(f);
  }
  return req.objects;
});

const USER_FIELDS = ['username', 'email', 'fullName', 'role', 'active', 'sites'];

function sitePointers(ids) {
  return (ids || []).map(id => ({ __type: 'Pointer', className: 'AuditSite', objectId: pointerId(id) }));
}

// Create or update accounts by objectId (an administrator's sync sends the
// users made on a laptop). A new account gets no usable password: only the
// argon2id verifier its owner's laptop made, checked at their first login.
Parse.Cloud.define('saveUsers', async req => {
  const actor = await actorOf(req);
  const users = req.params.users;
  if (!Array.isArray(users) || users.length > 100) {
    throw invalid('users', 'an array of at most 100 users is required');
  }
  const results = [];
  for (const data of users) {
    try {
      results.push({ success: await saveOneUser(actor, data) });
    } catch (err) {
      results.push({ error: { code: err.code || 141, error: err.message || String(err) } });
    }
  }
  return results;
});

async function saveOneUser(actor, data) {
  const id = data && data.objectId;
  if (typeof id !== 'string' || !/^[A-Za-z0-9]{1,32}$/.test(id)) {
    throw invalid('objectId', 'letters and digits only');
  }
  const existing = await fetchMaster(Parse.User, id);
  if (!isAdmin(actor)) {
    // Anyone may keep their own name and email up to date; the rest of what their
    // laptop sends about them is the administrator's to change and is ignored.
    if (!existing || existing.id !== actor.id) throw denied('only an administrator manages users');
  }
  if ('role' in data && !ROLES.includes(data.role)) {
    throw invalid('role', `must be one of ${ROLES.join(', ')}`);
  }
  const user = existing || new Parse.User();
  if (!existing) {
    user.id = id;
    user.set('password', crypto.randomBytes(32).toString('base64'));
    if (typeof data.passwordVerifier === 'string' && data.passwordVerifier.startsWith('$argon2')) {
      user.set('passwordVerifier', data.passwordVerifier);
    }
  } else if (existing.get('passwordVerifier') && typeof data.passwordVerifier === 'string' &&
             data.passwordVerifier.startsWith('$argon2')) {
    // Not logged in online yet: the newest verifier from the laptop wins.
    user.set('passwordVerifier', data.passwordVerifier);
  }
  for (const f of USER_FIELDS) {
    if (!(f in data)) continue;
    if (!isAdmin(actor) && !['email', 'fullName'].includes(f)) continue;
    const v = f === 'sites' ? sitePointers(data[f]) : data[f];
    if (v === null) user.unset(f);
    else user.set(f, v);
  }
  if (TOMBSTONE in data && isAdmin(actor)) {
    if (data[TOMBSTONE]) user.set(TOMBSTONE, asDate(data[TOMBSTONE]));
    else user.unset(TOMBSTONE);
  }
  await user.save(null, { useMasterKey: true });
  return {
    objectId: user.id,
    createdAt: user.createdAt && user.createdAt.toISOString(),
    updatedAt: user.updatedAt && user.updatedAt.toISOString(),
    created: !existing,
  };
}

// First online login of an account made on a laptop: check the password
// against the argon2id verifier, then make it the server password. Only while
// the account has no server password of its own (the verifier is still there);
// every failure looks like a wrong password; checks run one at a time and a
// username is locked for a while after repeated failures.
const firstLoginFailures = new Map(); // username -> {count, until}
const FIRST_LOGIN_MAX_FAILURES = 5;
const FIRST_LOGIN_LOCK_MS = 15 * 60 * 1000;
let verifyQueue = Promise.resolve();
let dummyVerifier = null;

function serially(fn) {
  const run = verifyQueue.then(fn, fn);
  verifyQueue = run.catch(() => undefined);
  return run;
}

Parse.Cloud.define('firstLogin', async req => {
  const { username, password } = req.params || {};
  const wrong = () => new E(E.OBJECT_NOT_FOUND, 'Invalid username/password.');
  if (typeof username !== 'string' || typeof password !== 'string' || !username || !password ||
      password.length > 1024) {
    throw wrong();
  }
  const now = Date.now();
  const lock = firstLoginFailures.get(username);
  if (lock && lock.until > now) throw wrong();
  const user = await new Parse.Query(Parse.User)
    .equalTo('username', username)
    .first({ useMasterKey: true });
  const verifier = user && user.get('passwordVerifier');
  const usable = user && typeof verifier === 'string' && verifier.startsWith('$argon2') &&
    user.get('active') !== false && !user.get(TOMBSTONE);
  const ok = await serially(async () => {
    try {
      if (!usable) {
        // Same work as a real check, so a missing account is not told apart by timing.
        if (dummyVerifier) await argon2Verify({ password, hash: dummyVerifier }).catch(() => false);
        return false;
      }
      return await argon2Verify({ password, hash: verifier });
    } catch {
      return false;
    }
  });
  if (!ok) {
    const prev = firstLoginFailures.get(username);
    const count = (prev && prev.until <= now ? 0 : (prev ? prev.count : 0)) + 1;
    firstLoginFailures.set(username, {
      count,
      until: count >= FIRST_LOGIN_MAX_FAILURES ? now + FIRST_LOGIN_LOCK_MS : 0,
    });
    throw wrong();
  }
  firstLoginFailures.delete(username);
  user.setPassword(password);
  user.unset('passwordVerifier');
  await user.save(null, { useMasterKey: true });
  return { ok: true };
});

(async () => {
  try {
    const { argon2id } = require('hash-wasm');
    dummyVerifier = await argon2id({
      password: crypto.randomBytes(16).toString('hex'),
      salt: crypto.randomBytes(16),
      parallelism: 4,
      iterations: 3,
      memorySize: 65536,
      hashLength: 32,
      outputType: 'encoded',
    });
  } catch {
    dummyVerifier = null;
  }
})();

// ---------------------------------------------------------------- unique keys

// The keys the laptops keep unique (DOMAIN.md): two laptops that made the same key
// offline must not both reach the server, or the second would clash on every laptop.
const UNIQUE_KEYS = {
  AuditSite: { fields: ['siteCode'], nocase: true, what: 'site code' },
  SpillKitLog: { fields: ['site', 'kitTag', 'lastCheckedAt'], nocase: false,
    what: 'inspection of this kit at this time' },
  LegalRegisterEntry: { fields: ['site', 'referenceCode'], nocase: true,
    what: 'legal register entry with this reference on this site' },
};

function escapeRegex(text) {
  return String(text).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function checkUnique(className, req) {
  const key = UNIQUE_KEYS[className];
  const obj = req.object;
  if (obj.get(TOMBSTONE)) return;
  if (req.original && !key.fields.some(f => changed(req, f)) && !changed(req, TOMBSTONE)) return;
  const q = new Parse.Query(className);
  for (const f of key.fields) {
    const v = obj.get(f);
    if (v === undefined || v === null) return;
    if (key.nocase && typeof v === 'string') q.matches(f, `^${escapeRegex(v)}$`, 'i');
    else q.equalTo(f, v);
  }
  q.doesNotExist(TOMBSTONE);
  if (obj.id) q.notEqualTo('objectId', obj.id);
  const other = await q.first({ useMasterKey: true });
  if (other) {
    const last = key.fields[key.fields.length - 1];
    // 142, not 137: 137 tells a laptop that its own create already arrived.
    throw invalid(last, `another ${key.what} already exists (${other.id}); change it and sync again`);
  }
}

// ---------------------------------------------------------------- sites

Parse.Cloud.beforeSave('AuditSite', async req => {
  await checkUnique('AuditSite', req);
  if (req.master) return;
  const actor = await actorOf(req);
  if (isAdmin(actor)) return;
  if (actor.role !== 'manager') throw denied(`a ${actor.role} may not create or edit sites`);
  const owner = pointerId(req.object.get('siteOwner'));
  if (owner !== actor.id) throw denied('a manager edits only the sites they own');
  if (req.original && pointerId(req.original.get('siteOwner')) !== actor.id) {
    throw denied('a manager edits only the sites they own');
  }
  if (changed(req, TOMBSTONE)) throw denied('only an administrator deletes records');
});

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

Parse.Cloud.beforeDelete('AuditSite', async req => {
  if (req.master) return;
  if (!isAdmin(await actorOf(req))) throw denied('only an administrator deletes records');
});

// ---------------------------------------------------------------- site-scoped records

function siteOf(obj) {
  return obj ? pointerId(obj.get('site')) : null;
}

const EDIT_ROLES = {
  AspectImpactLog: ['manager', 'coordinator'],
  SpillKitLog: ['manager', 'coordinator'],
  LegalRegisterEntry: ['manager', 'coordinator'],
  AuditReview: ['manager', 'coordinator'],
  AuditFinding: ['manager', 'coordinator', 'auditor'],
  Evidence: ['manager', 'coordinator', 'auditor'],
};
const OWN_FIELD = {
  AspectImpactLog: 'loggedBy',
  SpillKitLog: 'checkedBy',
  AuditReview: 'leadAuditor',
  Evidence: 'addedBy',
};

function checkCreate(actor, className, obj) {
  if (isAdmin(actor)) return;
  switch (className) {
    case 'AspectImpactLog':
    case 'SpillKitLog':
    case 'Evidence':
      return;
    case 'LegalRegisterEntry':
      return requireRole(actor, ['manager', 'coordinator'], 'add to the legal register');
    case 'AuditReview':
      if (actor.role === 'auditor' && pointerId(obj.get('leadAuditor')) === actor.id) return;
      return requireRole(actor, ['manager', 'coordinator'], 'plan an audit review');
    case 'AuditFinding':
      if (actor.role === 'field_staff' && obj.get('severity') === 'observation') return;
      return requireRole(actor, ['manager', 'coordinator', 'auditor'],
        'raise a finding of this severity');
    default:
      return;
  }
}

function checkEdit(actor, className, req) {
  if (isAdmin(actor)) return;
  const ownField = OWN_FIELD[className];
  if (EDIT_ROLES[className].includes(actor.role)) return;
  if (ownField && ['auditor', 'field_staff'].includes(actor.role) &&
      pointerId(req.original.get(ownField)) === actor.id &&
      pointerId(req.object.get(ownField)) === actor.id &&
      !(className === 'AuditReview' && actor.role === 'field_staff')) {
    return;
  }
  throw denied(`a ${actor.role || 'user without a role'} may not edit this ${className}`);
}

async function checkClosing(obj, actor) {
  const severity = obj.get('severity');
  if (blank(obj.get('correctiveAction'))) throw invalid('correctiveAction', 'is required to close');
  if (['major_nc', 'minor_nc'].includes(severity) && blank(obj.get('rootCause'))) {
    throw invalid('rootCause', 'is required to close a nonconformity');
  }
  if (blank(obj.get('verificationNote'))) {
    throw invalid('verificationNote', 'the effectiveness check is required to close');
  }
  const owner = pointerId(obj.get('actionOwner'));
  if (owner && owner === (pointerId(obj.get('closedBy')) || actor.id)) {
    throw invalid('actionOwner', 'the action owner cannot verify and close their own corrective action');
  }
  const sourceClass = LOG_TYPE_CLASS[obj.get('logType')];
  const sourceId = obj.get('sourceId');
  if (!sourceClass || !sourceId) return;
  const source = await fetchMaster(sourceClass, sourceId);
  if (!source) throw invalid('sourceId', `no ${sourceClass} ${sourceId}`);
  const closedAt = asDate(obj.get('closedAt')) || new Date();
  if (sourceClass === 'AspectImpactLog') {
    if (!['controlled', 'closed'].includes(source.get('actionStatus'))) {
      throw invalid('sourceId', 'the aspect must be controlled or closed first');
    }
  } else if (sourceClass === 'LegalRegisterEntry') {
    if (source.get('complianceStatus') === 'non_compliant') {
      throw invalid('sourceId', 'the legal register entry is non-compliant');
    }
    const due = asDate(source.get('dueDate'));
    if (due && due.toISOString().slice(0, 10) < closedAt.toISOString().slice(0, 10)) {
      throw invalid('sourceId', 'the legal register entry is overdue for evaluation');
    }
  } else if (sourceClass === 'SpillKitLog') {
    const latest = await new Parse.Query('SpillKitLog')
      .equalTo('site', source.get('site'))
      .equalTo('kitTag', source.get('kitTag'))
      .doesNotExist(TOMBSTONE)
      .descending('lastCheckedAt')
      .first({ useMasterKey: true });
    if (!latest || latest.get('inspectionStatus') !== 'pass') {
      throw invalid('sourceId', `the latest inspection of kit ${source.get('kitTag')} is not a pass`);
    }
  }
}

function checkDerived(className, obj) {
  if (className === 'AspectImpactLog') {
    const l = obj.get('likelihood');
    const s = obj.get('severity');
    for (const [f, v] of [['likelihood', l], ['severity', s]]) {
      if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= 5)) {
        throw invalid(f, 'must be a whole number from 1 to 5');
      }
    }
    const r = obj.get('riskRating');
    if (l !== undefined && s !== undefined && r !== undefined && r !== l * s) {
      throw invalid('riskRating', 'must be likelihood × severity');
    }
  } else if (className === 'SpillKitLog') {
    const missing = obj.get('missingItems') || [];
    const seal = obj.get('sealStatus');
    const need = obj.get('replenishmentNeeded');
    if (need !== undefined && seal !== undefined &&
        need !== (missing.length > 0 || seal !== 'intact')) {
      throw invalid('replenishmentNeeded', 'must be true when items are missing or the seal is not intact');
    }
  }
}

for (const className of SITE_SCOPED) {
  Parse.Cloud.beforeSave(className, async req => {
    checkDerived(className, req.object);
    if (UNIQUE_KEYS[className]) await checkUnique(className, req);
    if (req.master) return;
    const actor = await actorOf(req);
    if (!actor.role) throw denied('this account has no role');
    const obj = req.object;
    requireSite(actor, siteOf(obj), className);
    if (req.original) {
      requireSite(actor, siteOf(req.original), className);
      checkEdit(actor, className, req);
      if (changed(req, TOMBSTONE) && !isAdmin(actor)) {
        throw denied('only an administrator deletes records');
      }
    } else {
      checkCreate(actor, className, obj);
      if (obj.get(TOMBSTONE) && !isAdmin(actor)) throw denied('only an administrator deletes records');
    }
    if (className === 'Evidence') {
      const parentClass = obj.get('parentClass');
      const parent = SITE_SCOPED.includes(parentClass) || parentClass === 'AuditSite'
        ? await fetchMaster(parentClass, obj.get('parentId')) : null;
      const parentSite = parent && (parentClass === 'AuditSite' ? parent.id : siteOf(parent));
      if (parent && parentSite !== siteOf(obj)) {
        throw invalid('site', 'must be the site of the record the evidence belongs to');
      }
      const file = obj.get('file');
      if (file && !file.url()) throw invalid('file', 'a file pointer needs its url');
    }
    if (className === 'AuditReview' && changed(req, 'reviewStatus') &&
        obj.get('reviewStatus') === 'approved') {
      requireRole(actor, ['manager'], 'approve an audit review');
    }
    if (className === 'AuditFinding') {
      const closing = obj.get('closed') === true &&
        (!req.original || req.original.get('closed') !== true);
      const reopening = req.original && req.original.get('closed') === true &&
        obj.get('closed') !== true;
      if (closing || reopening) {
        requireRole(actor, ['manager'], closing ? 'close a finding' : 'reopen a finding');
      }
      if (closing) await checkClosing(obj, actor);
      if (!req.original && actor.role === 'field_staff' && obj.get('severity') !== 'observation') {
        throw denied('field staff raise observations only');
      }
      if (req.original && actor.role === 'field_staff') {
        throw denied('field staff do not edit findings');
      }
    }
  });

  Parse.Cloud.beforeDelete(className, async req => {
    if (req.master) return;
    if (!isAdmin(await actorOf(req))) throw denied('only an administrator deletes records');
  });
}

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

// Live Query: a subscriber hears only about the sites they are assigned to.
for (const className of ['AuditFinding', 'AuditReview']) {
  Parse.Cloud.beforeSubscribe(className, async req => {
    if (req.master) return;
    const actor = await actorOf(req);
    if (isAdmin(actor)) return;
    req.query.containedIn('site', sitePointers([...actor.sites]));
  });
}
