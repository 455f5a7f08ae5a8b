'use strict';
// The records' rules: unique keys, sites, site-scoped classes, scoped reads.

const {
  ROLES, SITE_SCOPED, PROTECTED_USER_FIELDS, SECRET_USER_FIELDS, TOMBSTONE, LOG_TYPE_CLASS, E,
  denied, invalid, pointerId, actorOf, isAdmin, requireRole, requireSite, changed, blank, asDate,
  fetchMaster, sitePointers, escapeRegex,
} = require('./common');

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

