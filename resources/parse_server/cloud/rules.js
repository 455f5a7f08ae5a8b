'use strict';
// The generic rules engine: it applies the rulebook that `desktop-audit server-setup`
// publishes (class RuleBook, master key only; built by desktop_audit/records/rulebook.py
// from the laptop's record types) to every write of the record classes, with the named
// functions of rulefns.js. Nothing here knows a class's rules: they are all data.
//
// Several server processes may serve one database, so nothing another process needs lives
// in memory: the rulebook is read from the database and kept while its version stays the
// same (checked once per HTTP request); what a request looks up (sites, users, the records
// it points at) is kept for that request only (a /batch is one request).

const {
  ROLES, TOMBSTONE, E, pointerId, actorOf, isAdmin,
} = require('./common');
const { DERIVE, CHECK, CONDITION, AUTHOR, KEEP, blank, words } = require('./rulefns');
const { todayAt } = require('./calendar');
const { checkEvidenceFile } = require('./files');
const bulk = require('./bulk');

const RULEBOOK_CLASS = 'RuleBook';
const RULEBOOK_ID = 'current';
const CODE_INVALID = 142; // a value the rules refuse (names the field)
const CODE_DENIED = E.OPERATION_FORBIDDEN; // 119: the role, site or condition refuses
const SYSTEM_KEYS = new Set(['objectId', 'createdAt', 'updatedAt']);

// ---------------------------------------------------------------- refusals

function invalid(field, message) {
  return new E(CODE_INVALID, field ? `${field}: ${message}` : message);
}

function denied(message, field) {
  return new E(CODE_DENIED, field ? `${field}: ${message}` : message);
}

// The same answer as for a record that does not exist (nothing says it is elsewhere).
function notFound() {
  return new E(E.OBJECT_NOT_FOUND, 'Object not found.');
}

function fill(template, ...sources) {
  const merged = Object.assign({}, ...sources);
  return String(template).replace(/\{(\w+)\}/g, (_, name) => {
    const v = merged[name];
    return v === null || v === undefined ? '' : String(v);
  });
}

function article(role) {
  return /^[aeiou]/.test(role) ? 'an' : 'a';
}

function roleWords(role) {
  return String(role || 'user without a role').replace(/_/g, ' ');
}

// ---------------------------------------------------------------- the rulebook

let cached = null; // { version, book, zones, fields }
let loading = null;

async function currentVersion() {
  const q = new Parse.Query(RULEBOOK_CLASS);
  q.select('version');
  const found = await q.get(RULEBOOK_ID, { useMasterKey: true }).catch(() => null);
  return found ? found.get('version') : null;
}

function prepare(book) {
  const classes = {};
  for (const [name, decl] of Object.entries(book.classes)) {
    classes[name] = {
      ...decl,
      name,
      // (the database keeps an object's keys in its own order: the declaration's is listed)
      fields: Object.fromEntries(decl.fieldOrder.map(f => [f, decl.fields[f]])),
      editableSet: new Set(decl.editable),
      createSet: new Set(decl.createFields || decl.editable),
      fixedSet: new Set(decl.fixedAfterCreate),
      derivedSet: new Set(decl.derivations.map(d => d.field)),
    };
  }
  const byParse = {};
  for (const decl of Object.values(classes)) byParse[decl.parseName] = decl;
  return { ...book, classes, byParse, zoneSet: new Set(book.timeZones) };
}

// The rulebook in force (null when none was published), reloaded when its version changes.
async function rulebook() {
  const version = await currentVersion();
  if (!version) {
    cached = null;
    return null;
  }
  if (cached && cached.version === version) return cached;
  if (!loading) {
    loading = (async () => {
      const found = await new Parse.Query(RULEBOOK_CLASS).get(RULEBOOK_ID, { useMasterKey: true });
      const book = prepare(found.get('book'));
      cached = { ...book, version: found.get('version') };
      ensureIndexes(cached).catch(() => undefined);
      return cached;
    })().finally(() => {
      loading = null;
    });
  }
  return loading;
}

function forget() {
  cached = null;
}

// ---------------------------------------------------------------- request-scoped reads

// One context per HTTP request (the sub-requests of a /batch share the session's user
// object, so they share it too); dropped with the request, and never older than a few
// seconds.
const contexts = new WeakMap();
const CONTEXT_MS = 5000;

function requestContext(req) {
  const key = req.user;
  const now = Date.now();
  const entry = key && contexts.get(key);
  if (entry && now - entry.at < CONTEXT_MS) return entry.promise;
  const promise = (async () => {
    const [book, actor] = await Promise.all([rulebook(), actorOf(req)]);
    return { book, actor, records: new Map() };
  })();
  if (key) contexts.set(key, { at: now, promise });
  return promise;
}

// A Parse value of a field as the laptop stores it.
function localValue(field, value) {
  if (value === undefined || value === null) {
    return field && (field.kind === 'string_list' || field.kind === 'pointer_list') ? [] : null;
  }
  if (!field) return value;
  switch (field.kind) {
    case 'pointer':
      return pointerId(value);
    case 'pointer_list':
      return Array.isArray(value) ? value.map(pointerId) : value;
    case 'date': {
      const d = value instanceof Date ? value : new Date(value.iso || value);
      return Number.isNaN(d.getTime()) ? null : d.toISOString().slice(0, 10);
    }
    case 'datetime': {
      const d = value instanceof Date ? value : new Date(value.iso || value);
      return Number.isNaN(d.getTime()) ? null : d.toISOString();
    }
    case 'file':
      return typeof value.name === 'function' ? { name: value.name(), url: value.url() } : value;
    default:
      return value;
  }
}

function decode(decl, obj) {
  const out = { objectId: obj.id };
  for (const [name, field] of Object.entries(decl.fields)) {
    if (field.secret) continue;
    out[name] = localValue(field, obj.get(name));
  }
  const deleted = obj.get(TOMBSTONE);
  out[TOMBSTONE] = deleted ? localValue({ kind: 'datetime' }, deleted) : null;
  out.createdAt = obj.createdAt ? obj.createdAt.toISOString() : null;
  return out;
}

function siteOfRecord(decl, rec) {
  if (!rec) return null;
  if (decl.siteIsSelf) return rec.objectId || null;
  return decl.siteField ? rec[decl.siteField] || null : null;
}

function sees(actor, siteId) {
  return isAdmin(actor) || Boolean(siteId && actor.sites.has(siteId));
}

// What the rule functions may ask (the same questions as RuleContext on the laptop).
function makeContext(rc, { action = 'edit', old = null, actor = null } = {}) {
  const { book } = rc;
  const ctx = {
    book,
    action,
    old,
    actor: actor || rc.actor,
    now: () => new Date(),
    zones: () => book.zoneSet,
    siteOf: (className, rec) => siteOfRecord(book.classes[className], rec),
    // A record as the acting user may see it: null when missing, deleted, or on a site the
    // user is not assigned to (as on their laptop, which holds only their sites).
    get: async (className, id) => {
      const decl = book.classes[className];
      if (!decl || !id || typeof id !== 'string') return null;
      const key = `${className}:${id}`;
      let found = rc.records.get(key);
      if (!found) {
        found = bulk.record(decl.parseName, id).then(o => (o ? decode(decl, o) : null), () => null);
        rc.records.set(key, found);
      }
      const rec = await found;
      if (!rec || rec[TOMBSTONE]) return null;
      if ((decl.siteField || decl.siteIsSelf) && !sees(rc.actor, siteOfRecord(decl, rec))) return null;
      if (decl.accounts && rec.active === null) return { ...rec, active: true };
      return rec;
    },
    site: async id => ctx.get(book.calendar.siteClass, id),
    today: async siteId => {
      const site = siteId ? await ctx.site(siteId) : null;
      return todayAt(site && site[book.calendar.zoneField]);
    },
    latest: async (className, where, order, until) => {
      const decl = book.classes[className];
      const q = new Parse.Query(decl.parseName);
      for (const [name, value] of Object.entries(where)) {
        const field = decl.fields[name];
        if (field && field.kind === 'pointer' && value) {
          q.equalTo(name, { __type: 'Pointer', className: field.targetParse, objectId: value });
        } else {
          q.equalTo(name, value);
        }
      }
      if (until) q.lessThanOrEqualTo(order, new Date(until));
      q.doesNotExist(TOMBSTONE);
      q.descending(order);
      const found = await q.first({ useMasterKey: true });
      return found ? decode(decl, found) : null;
    },
    closingState: async (className, rec) => {
      const decl = book.classes[className];
      const sub = makeContext(rc, { action: 'close' });
      for (const c of decl.closing) {
        const result = await CHECK[c.fn](sub, rec, c.args, c.params);
        if (result) {
          return { reason: fill(c.message, rec, result),
            opens: result.opens || [className, rec.objectId] };
        }
      }
      return null;
    },
  };
  return ctx;
}

// ---------------------------------------------------------------- values

function norm(v) {
  return v === undefined || v === '' || (Array.isArray(v) && v.length === 0) ? null : v;
}

function same(a, b) {
  const x = norm(a);
  const y = norm(b);
  return x === y || JSON.stringify(x) === JSON.stringify(y);
}

function sameField(field, a, b) {
  if (field && field.kind === 'pointer_list' && Array.isArray(a) && Array.isArray(b)) {
    return same([...a].sort(), [...b].sort());
  }
  if (field && field.kind === 'bool') return Boolean(a) === Boolean(b);
  if (field && (field.kind === 'string' || field.kind === 'text')) {
    return (a === '' ? null : a) === (b === '' ? null : b) || same(a, b);
  }
  return same(a, b);
}

function show(value) {
  if (value === null || value === undefined) return 'empty';
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

// The value a client sent must have the field's type, range and length.
function checkType(name, field, raw) {
  if (raw === undefined || raw === null) return;
  if (raw && typeof raw === 'object' && raw.__op === 'Delete') return;
  const kind = field.kind;
  if (kind === 'string' || kind === 'text' || kind === 'enum') {
    if (typeof raw !== 'string') throw invalid(name, `expected text, got ${typeof raw}`);
    if (raw.includes('\u0000')) throw invalid(name, 'contains a NUL character');
    if (kind === 'string' && /[\r\n]/.test(raw)) throw invalid(name, 'must be a single line');
    if (kind === 'enum' && !field.choices.includes(raw)) {
      throw invalid(name, `'${raw}' is not one of ${field.choices.join(', ')}`);
    }
    if (field.maxLength && raw.trim().length > field.maxLength) {
      throw invalid(name, `is ${raw.trim().length} characters long; at most ${field.maxLength} allowed`);
    }
    return;
  }
  if (kind === 'int') {
    if (typeof raw !== 'number' || !Number.isInteger(raw)) throw invalid(name, `${show(raw)} is not a whole number`);
    if ((field.min !== undefined && raw < field.min) || (field.max !== undefined && raw > field.max)) {
      throw invalid(name, `${raw} is out of range (${field.min} to ${field.max})`);
    }
    return;
  }
  if (kind === 'bool') {
    if (typeof raw !== 'boolean') throw invalid(name, `${show(raw)} is not true or false`);
    return;
  }
  if (kind === 'date' || kind === 'datetime') {
    if (!(raw instanceof Date) || Number.isNaN(raw.getTime())) throw invalid(name, 'is not a date');
    if (kind === 'date' && raw.toISOString().slice(10) !== 'T00:00:00.000Z') {
      throw invalid(name, 'is a calendar date (midnight UTC of that day)');
    }
    if (raw.getUTCFullYear() < 1900) throw invalid(name, 'is not a date');
    return;
  }
  if (kind === 'pointer') {
    if (!raw || typeof raw !== 'object' || typeof raw.id !== 'string' || raw.className !== field.targetParse) {
      throw invalid(name, `must point at a ${field.targetParse}`);
    }
    return;
  }
  if (kind === 'pointer_list' || kind === 'string_list') {
    if (!Array.isArray(raw)) throw invalid(name, 'expected a list');
    for (const item of raw) {
      if (kind === 'string_list' && (typeof item !== 'string' || !item.trim() || item.length > 200)) {
        throw invalid(name, 'list items are short texts');
      }
      if (kind === 'pointer_list' && !(item && item.className === field.targetParse)) {
        throw invalid(name, `must list ${field.targetParse} pointers`);
      }
    }
    return;
  }
  if (kind === 'file') {
    if (!raw || typeof raw.name !== 'function') throw invalid(name, 'must be a file');
    return;
  }
  if (kind === 'object' && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw invalid(name, 'expected an object');
  }
}

// ---------------------------------------------------------------- who and when

// The actor and time of the most recent journaled event of one of `actions` about the
// record, when it is `action` (a close not undone by a later reopen ...): the truth of who
// did it and when. null when the trail holds none on the server yet.
async function journaled(className, objectId, action, actions) {
  if (!objectId) return null;
  const [ev] = await bulk.events(className, objectId, actions, 1).catch(() => []);
  if (!ev || ev.action !== action) return null;
  const at = ev.at;
  return { actor: ev.actor || null, at: at instanceof Date ? at : new Date(at), changes: ev.changes };
}

async function createdAt(className, objectId, before) {
  const created = await journaled(className, objectId, 'create', ['create']);
  if (created) return created.at;
  return before && before.createdAt ? new Date(before.createdAt) : null;
}

// The user (as an actor) an objectId names, or null.
async function actorFromId(ctx, id) {
  if (!id) return null;
  const user = await ctx.get('User', id);
  if (!user || user.active === false || !ROLES.includes(user.role)) return null;
  return { master: false, id, role: user.role, sites: new Set(user.sites || []), user };
}

// ---------------------------------------------------------------- permissions

function permit(ctx, decl, action, actor, record, values) {
  const rules = decl.permissions[action] || [];
  const phrase = decl.phrases[action] || action;
  if (!rules.length) throw denied('records of this kind are written by the program, not by hand');
  const matching = rules.filter(r => r.roles.includes(actor.role));
  if (!matching.length) {
    throw denied(`${article(actor.role)} ${roleWords(actor.role)} may not ${phrase}`);
  }
  if (!matching.some(r => !r.when || CONDITION[r.when](actor, record, values, decl))) {
    const when = new Set(matching.map(r => r.when));
    const who = `${article(actor.role)} ${roleWords(actor.role)}`;
    if (when.has('own')) throw denied(`${who} may only edit their own entries`);
    if (when.has('lead')) throw denied(`${who} may only plan or edit reviews they lead`);
    if (when.has('observation')) throw denied(`${roleWords(actor.role)} may raise observations only`, 'severity');
    if (when.has('owns_site')) throw denied(`${who} may only ${action === 'create' ? 'create' : 'edit'} sites they own`, 'siteOwner');
    throw denied(`${who} may not ${phrase}`);
  }
  if (record) {
    for (const lock of decl.locks) {
      if (lock.action === action && sameField(decl.fields[lock.field], record[lock.field], lock.equals)) {
        throw invalid(lock.field, lock.message);
      }
    }
  }
}

function requireSite(actor, decl, siteId) {
  if (isAdmin(actor) || decl.siteIsSelf || !decl.siteField) return;
  if (!siteId || !actor.sites.has(siteId)) {
    throw denied('you are not assigned to this site', decl.siteField);
  }
}

// ---------------------------------------------------------------- the checks of a record

async function checkReferences(ctx, decl, rec, names) {
  for (const name of names) {
    const field = decl.fields[name];
    if (!field || !field.target || (field.kind !== 'pointer' && field.kind !== 'pointer_list')) continue;
    const ids = field.kind === 'pointer' ? [rec[name]] : rec[name] || [];
    for (const id of ids) {
      if (!id) continue;
      const target = await ctx.get(field.target, id);
      const label = ctx.book.classes[field.target].label.toLowerCase();
      if (!target) throw invalid(name, `no ${label} with id '${id}'`);
      if (field.kind === 'pointer' && ctx.book.classes[field.target].accounts && target.active === false) {
        throw invalid(name, `user ${target.username} is deactivated`);
      }
    }
  }
}

function checkRequired(decl, rec) {
  for (const [name, field] of Object.entries(decl.fields)) {
    if (field.required && field.kind !== 'bool' && !field.derived && blank(rec[name])) {
      throw invalid(name, 'is required');
    }
  }
}

async function checkDerived(ctx, decl, rec, before, changedSet) {
  const values = { ...rec };
  for (const d of decl.derivations) {
    const field = decl.fields[d.field];
    const skip = d.whenChanged && changedSet && !d.whenChanged.some(f => changedSet.has(f));
    if (skip) {
      if (before && !sameField(field, rec[d.field], before[d.field])) {
        throw invalid(d.field, `is derived from ${d.whenChanged.join(', ')}; it changes only with them`);
      }
      continue;
    }
    const computed = await DERIVE[d.fn](d.args.map(a => values[a]), d.params, ctx);
    if (computed === KEEP || sameField(field, computed, rec[d.field])) continue;
    if (d.params.history && await inHistory(ctx, decl, rec, d, rec[d.field])) continue;
    throw invalid(d.field, `is ${show(rec[d.field])}, but ${d.args.join(' and ')} give ${show(computed)}`);
  }
}

// A value the record's site had for the field a derivation copies (the threshold the site
// had when a laptop rated the aspect offline), as the site's journaled history shows.
async function inHistory(ctx, decl, rec, d, value) {
  const siteId = rec[d.args[0]];
  const site = await ctx.site(siteId);
  if (!site || value === null || value === undefined) return false;
  const siteName = ctx.book.calendar.siteClass;
  const field = d.params.history;
  const q = new Parse.Query('AuditTrailEvent');
  q.equalTo('recordClass', siteName);
  q.equalTo('recordId', siteId);
  q.limit(1000);
  const events = await q.find({ useMasterKey: true }).catch(() => []);
  for (const ev of events) {
    const change = (ev.get('changes') || {})[field];
    if (Array.isArray(change) && change.some(v => Number(v) === Number(value))) return true;
  }
  return false;
}

async function checkValidations(ctx, decl, rec, phase) {
  for (const c of decl.validations) {
    if (!c.on.includes(phase)) continue;
    const result = await CHECK[c.fn](ctx, rec, c.args, c.params);
    if (result) throw invalid(c.field, fill(c.message, rec, result));
  }
}

async function checkGates(ctx, decl, action, rec) {
  for (const c of decl.gates[action] || []) {
    const result = await CHECK[c.fn](ctx, rec, c.args, c.params);
    if (result) throw invalid(c.field, fill(c.message, rec, result));
  }
}

// Another live record holding the same unique key (the friendly answer; a unique index in
// PostgreSQL is the last word when two writes race). The writes of one turn ask together
// (bulk.js).
async function checkUnique(decl, rec, objectId, changedSet) {
  for (const key of decl.uniqueKeys) {
    if (changedSet && !key.fields.some(f => changedSet.has(f))) continue;
    if (key.fields.some(f => rec[f] === null || rec[f] === undefined)) continue;
    if (await bulk.uniqueClash(decl, key, rec, objectId)) {
      const shown = {};
      for (const [k, v] of Object.entries(rec)) {
        shown[k] = k === 'lastCheckedAt' && v ? String(v).slice(0, 16).replace('T', ' ') : v;
      }
      throw invalid(key.fields[key.fields.length - 1], `${fill(key.message, shown)}; change it and sync again`);
    }
  }
}

// ---------------------------------------------------------------- the engine

const extensions = new Map(); // className -> [async (req, judged) => ...] (other modules' checks)

function extend(className, fn) {
  if (!extensions.has(className)) extensions.set(className, []);
  extensions.get(className).push(fn);
}

function setLocal(obj, decl, name, value) {
  const field = decl.fields[name];
  if (value === null || value === undefined) {
    obj.unset(name);
  } else if (field.kind === 'pointer') {
    obj.set(name, { __type: 'Pointer', className: field.targetParse, objectId: value });
  } else if (field.kind === 'datetime' || field.kind === 'date') {
    obj.set(name, value instanceof Date ? value : new Date(value));
  } else {
    obj.set(name, value);
  }
}

async function judgeSave(className, req) {
  if (req.master) return; // the administrator's tool
  const rc = await requestContext(req);
  const { book, actor } = rc;
  if (!book) throw denied('the server has no rules yet: run desktop-audit server-setup first');
  const decl = book.byParse[className];
  if (!actor.role) throw denied('this account has no role');
  const obj = req.object;
  const isCreate = !req.original;
  const body = obj.dirtyKeys();

  // ---- the shape of what was sent
  if (body.includes('ACL') || (isCreate && obj.getACL())) {
    throw denied('is set by the server only', 'ACL');
  }
  for (const name of body) {
    if (SYSTEM_KEYS.has(name) || name === TOMBSTONE) continue;
    const field = decl.fields[name];
    if (!field || field.secret) throw invalid(name, `is not a field of ${decl.label.toLowerCase()}`);
    checkType(name, field, obj.get(name));
  }
  if (body.includes(TOMBSTONE)) {
    const t = obj.get(TOMBSTONE);
    if (t !== undefined && t !== null && !(t instanceof Date)) throw invalid(TOMBSTONE, 'is not a date');
  }
  const before = isCreate ? null : decode(decl, req.original);
  if (isCreate) {
    for (const [name, field] of Object.entries(decl.fields)) {
      if (field.default !== undefined && (obj.get(name) === undefined || obj.get(name) === null)) {
        obj.set(name, field.default);
      }
    }
  }
  const after = decode(decl, obj);

  // ---- which records: never one the user cannot see (answered like a missing one)
  if (before) {
    if (!sees(actor, siteOfRecord(decl, before)) && !(decl.siteIsSelf && isAdmin(actor))) {
      throw notFound();
    }
    if (before[TOMBSTONE] && after[TOMBSTONE]) throw notFound();
  }
  if (decl.siteField && !decl.siteIsSelf) {
    if (!after[decl.siteField]) throw invalid(decl.siteField, 'is required');
    requireSite(actor, decl, after[decl.siteField]);
  }
  // ---- the file a record points at (the rulebook's `files`): a true stored file of its site
  if (book.files && book.files[decl.name]) await checkEvidenceFile(req, actor);

  // ---- what changes
  const changed = new Set();
  for (const [name, field] of Object.entries(decl.fields)) {
    if (field.secret) continue;
    if (isCreate ? !blank(after[name]) && !(field.kind === 'bool' && after[name] === false)
      : !sameField(field, after[name], before[name])) {
      changed.add(name);
    }
  }
  const deleting = isCreate ? Boolean(after[TOMBSTONE]) : !before[TOMBSTONE] && Boolean(after[TOMBSTONE]);
  const undeleting = !isCreate && Boolean(before[TOMBSTONE]) && !after[TOMBSTONE];
  if (!isCreate && !changed.size && !deleting && !undeleting) return;

  const steps = decl.transitions.filter(t => {
    const was = isCreate ? decl.fields[t.field].default : before[t.field];
    return sameField(decl.fields[t.field], after[t.field], t.to) &&
      !sameField(decl.fields[t.field], was, t.to);
  });
  const stepOwned = new Set();
  for (const t of steps) {
    stepOwned.add(t.field);
    for (const f of [...(t.stamps || []), ...t.clears, ...t.mayChange]) stepOwned.add(f);
  }
  const stamped = new Set();
  for (const t of decl.transitions) for (const f of [...(t.stamps || []), ...t.clears]) stamped.add(f);
  const action = steps.length ? steps[steps.length - 1].action : isCreate ? 'create' : 'edit';
  const ctx = makeContext(rc, { action, old: before });

  // The record before the workflow steps of this write (a create carrying a close is a
  // create, then the close).
  const pre = { ...after };
  for (const t of steps) {
    pre[t.field] = isCreate ? t.from : before[t.field];
    for (const f of [...(t.stamps || []), ...t.clears]) pre[f] = isCreate ? null : before[f];
  }

  if (isCreate) {
    for (const name of changed) {
      if (decl.createSet.has(name) || decl.derivedSet.has(name) || stepOwned.has(name)) continue;
      if (stamped.has(name) || !sameField(decl.fields[name], after[name], decl.fields[name].default)) {
        throw invalid(name, 'cannot be set here');
      }
    }
    permit(ctx, decl, 'create', actor, null, pre);
    await checkAuthor(ctx, decl, req, actor, pre, null);
    await checkReferences(ctx, decl, pre, Object.keys(decl.fields).filter(n => changed.has(n) && !stamped.has(n)));
  } else {
    const unlocked = { ...before };
    for (const t of steps.filter(s => s.unlocks)) {
      unlocked[t.field] = t.to;
      for (const f of t.clears) unlocked[f] = null;
    }
    const edited = [...changed].filter(n => !stepOwned.has(n));
    if (edited.length) {
      for (const name of edited) {
        if (!decl.editableSet.has(name) && !decl.derivedSet.has(name)) throw invalid(name, 'cannot be set here');
        if (decl.fixedSet.has(name)) throw invalid(name, 'is set when the record is made and cannot be changed');
      }
      const values = {};
      for (const name of edited) values[name] = after[name];
      permit(ctx, decl, 'edit', actor, steps.some(s => s.unlocks) ? unlocked : before, values);
      if (decl.authorField && changed.has(decl.authorField)) {
        await checkAuthor(ctx, decl, req, actor, after, before);
      }
      await checkReferences(ctx, decl, after, edited);
    }
    if (undeleting) permit(ctx, decl, 'edit', actor, { ...before, [TOMBSTONE]: null }, {});
  }
  if (deleting) permit(ctx, decl, 'delete', actor, isCreate ? null : before, {});

  // ---- workflow steps: by whom and when the journaled change says
  for (const t of steps) {
    const opposite = decl.transitions.filter(o => o.field === t.field).map(o => o.journal);
    const event = isCreate && !obj.id ? null : await journaled(decl.name, obj.id, t.journal, opposite);
    let who = null;
    let when = new Date();
    if (event) {
      who = await actorFromId(ctx, event.actor);
      const skew = book.clockSkewMinutes * 60000;
      if (who) {
        when = event.at;
        const stampAt = t.stamps ? t.stamps[1] : t.field;
        if (when.getTime() > Date.now() + skew) {
          throw invalid(stampAt, `the journaled ${t.action} at ${when.toISOString()} is in the future`);
        }
        const born = await createdAt(decl.name, obj.id, before);
        if (born && when.getTime() < born.getTime() - skew) {
          throw invalid(stampAt, `the journaled ${t.action} at ${when.toISOString()} is before the record existed`);
        }
      }
    }
    const stepActor = who || actor;
    requireSite(stepActor, decl, after[decl.siteField]);
    const gateState = { ...after, [t.field]: pre[t.field] };
    for (const f of [...(t.stamps || []), ...t.clears]) gateState[f] = pre[f];
    permit(ctx, decl, t.action, stepActor, gateState, {});
    await checkGates(makeContext(rc, { action: t.action, old: before, actor: stepActor }), decl, t.action, gateState);
    if (t.stamps) {
      setLocal(obj, decl, t.stamps[0], stepActor.id);
      setLocal(obj, decl, t.stamps[1], when);
      after[t.stamps[0]] = stepActor.id;
      after[t.stamps[1]] = when.toISOString();
    }
    for (const f of t.clears) {
      obj.unset(f);
      after[f] = null;
    }
  }
  // Stamps a write may not set without its step: kept as they were.
  for (const name of stamped) {
    if (stepOwned.has(name)) continue;
    if (!sameField(decl.fields[name], after[name], isCreate ? null : before[name])) {
      throw invalid(name, 'is set by its workflow step only');
    }
  }

  // ---- the record as it will be stored
  if (!after[TOMBSTONE]) {
    checkRequired(decl, after);
    await checkDerived(ctx, decl, after, before, isCreate ? null : changed);
    await checkValidations(ctx, decl, after, isCreate ? 'create' : 'edit');
    await checkUnique(decl, after, obj.id, isCreate || undeleting ? null : changed);
  }
  for (const fn of extensions.get(decl.name) || []) {
    await fn(req, { decl, before, after, actor, ctx });
  }
  rc.records.delete(`${decl.name}:${obj.id}`);
}

// Who did the work: the rule of the rulebook, for the one who journaled the write (or the
// session's user while no journaled event has reached the server).
async function checkAuthor(ctx, decl, req, actor, rec, before) {
  const name = decl.authorField;
  if (!name) return;
  const author = rec[name];
  const rule = AUTHOR[ctx.book.authorRule];
  const siteId = siteOfRecord(decl, rec) || (decl.siteIsSelf ? req.object.id : null);
  let why = await rule(ctx, actor, author, siteId, ctx.book.officeRoles);
  if (why && req.object.id) {
    const events = await bulk.events(decl.name, req.object.id,
      before ? ['update', 'resolve'] : ['create'], 20).catch(() => []);
    for (const ev of events) {
      const change = (ev.changes || {})[name];
      if (!Array.isArray(change) || change[1] !== author) continue;
      const journaledActor = await actorFromId(ctx, ev.actor);
      if (journaledActor && !(await rule(ctx, journaledActor, author, siteId, ctx.book.officeRoles))) {
        why = null;
      }
      break;
    }
  }
  if (why) throw invalid(name, why);
}

async function judgeDelete(className, req) {
  if (req.master) return; // hard deletes: the master key only
  await actorOf(req);
  throw denied('records are deleted by an administrator as tombstones (deletedAt), never removed');
}

// Any unexpected failure is answered as a refusal with a code, never a stack trace.
function guarded(fn) {
  return async req => {
    try {
      return await fn(req);
    } catch (err) {
      if (err instanceof Parse.Error) throw err;
      // eslint-disable-next-line no-console
      console.error('rules: unexpected failure', err);
      throw new E(E.SCRIPT_FAILED, 'the server could not judge this write; try again');
    }
  };
}

function register(className) {
  Parse.Cloud.beforeSave(className, guarded(req => judgeSave(className, req)));
  Parse.Cloud.beforeDelete(className, guarded(req => judgeDelete(className, req)));
}

// ---------------------------------------------------------------- unique indexes

function indexName(className, fields) {
  return `da_unique_${className}_${fields.join('_')}`.slice(0, 63);
}

// Unique indexes for the rulebook's unique keys (case-insensitive where the key is; live
// records only), made in PostgreSQL through Parse's database adapter. Returns what it did.
async function ensureIndexes(book) {
  let adapter;
  try {
    // eslint-disable-next-line global-require
    const Config = require('parse-server/lib/Config');
    adapter = Config.get(Parse.applicationId).database.adapter;
  } catch {
    adapter = null;
  }
  const db = adapter && adapter._client;
  if (!db || !adapter.constructor || !/Postgres/.test(adapter.constructor.name)) {
    return [{ index: '*', ok: false, reason: 'the database is not PostgreSQL: unique keys are checked by a query before each write only' }];
  }
  const report = [];
  const statements = [];
  for (const decl of Object.values(book.classes)) {
    for (const key of decl.uniqueKeys) {
      const cols = key.fields.map(f => {
        const kind = decl.fields[f].kind;
        return key.nocase && (kind === 'string' || kind === 'text') ? `lower("${f}")` : `"${f}"`;
      });
      statements.push([indexName(decl.parseName, key.fields),
        `CREATE UNIQUE INDEX IF NOT EXISTS "${indexName(decl.parseName, key.fields)}" ON "${decl.parseName}" (${cols.join(', ')}) WHERE "${TOMBSTONE}" IS NULL`]);
    }
  }
  statements.push(['da_trail_record',
    'CREATE INDEX IF NOT EXISTS "da_trail_record" ON "AuditTrailEvent" ("recordId", "recordClass", "action")']);
  for (const [name, sql] of statements) {
    try {
      await db.none(sql);
      report.push({ index: name, ok: true });
    } catch (err) {
      const exists = /already exists/.test(String(err && err.message));
      report.push({ index: name, ok: exists, reason: exists ? '' : String(err && err.message).slice(0, 300) });
    }
  }
  return report;
}

Parse.Cloud.define('ensureRuleIndexes', async req => {
  if (!req.master) throw denied('the master key only');
  forget();
  const book = await rulebook();
  if (!book) throw invalid('RuleBook', 'no rulebook is published');
  return { version: book.version, indexes: await ensureIndexes(book) };
});

Parse.Cloud.beforeSave(RULEBOOK_CLASS, req => {
  if (!req.master) throw denied('the rulebook is written with the master key only');
});

Parse.Cloud.afterSave(RULEBOOK_CLASS, () => {
  forget();
});

Parse.Cloud.beforeFind(RULEBOOK_CLASS, req => {
  if (!req.master) throw denied('the rulebook is read with the master key only');
});

module.exports = {
  rulebook, register, extend, judgeSave, judgeDelete, ensureIndexes, requestContext, decode,
  invalid, denied, notFound, words, RULEBOOK_CLASS,
};
