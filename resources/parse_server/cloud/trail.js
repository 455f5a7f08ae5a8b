'use strict';
// The audit trail on the server.
//
// * Events arrive only through `appendTrail`: one chain's segment, checked and written in
//   order in ONE PostgreSQL transaction (Parse Server runs a /batch's requests concurrently,
//   so no create through /classes could keep a chain in order). A segment is accepted only
//   with the next sequence numbers, the previous hash of that chain, hashes recomputed
//   exactly as the laptop computes them (desktop_audit/domain/trail.py), and signatures by
//   registered, unrevoked keys of active users who are the events' actors. A unique
//   (chain, seq) index in PostgreSQL is the last word.
// * Keys (`TrailKey`) are registered by `registerTrailKeys`, with the server's clock; a
//   revocation (`revokeTrailKey`) takes effect by receipt: segments arriving after it are
//   refused.
// * Reads are scoped: a site's chains to the users of that site; the chains of events about
//   no site ("<device>/-") to administrators and to the users who hold a key of that laptop.

const crypto = require('crypto');
const Config = require('parse-server/lib/Config');

const { E, denied, invalid, actorOf, isAdmin } = require('./common');

const GENESIS = '0'.repeat(64);
const HASHED = ['objectId', 'chain', 'deviceId', 'seq', 'at', 'actor', 'actorName', 'action',
  'recordClass', 'recordId', 'siteId', 'keyId'];
const VERSION = 1;
const MAX_EVENTS = 20000;
const SKEW_MS = 10 * 60 * 1000; // how far ahead of the server's clock an event may be
const CHAIN_RE = /^([0-9a-f]{16})\/([A-Za-z0-9]{1,32}|-)$/;
const ID_RE = /^[A-Za-z0-9]{1,32}$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HEX64 = /^[0-9a-f]{64}$/;
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const NOTHING = { find: {}, count: {}, get: {}, create: {}, update: {}, delete: {}, addField: {} };

// ---------------------------------------------------------------- canonical JSON, hashes

// The one JSON text the laptop hashes and signs: keys sorted, no spaces, non-ASCII as is
// (Python's json.dumps(sort_keys=True, separators=(',', ':'), ensure_ascii=False)).
function canonical(value) {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys.map(k => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function eventHash(ev, prevHash) {
  const head = canonical(HASHED.map(k => (ev[k] === undefined ? null : ev[k])));
  const text = `${prevHash}\n${head}\n${ev.changes || '{}'}`;
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

function headMessage(chain, seq, hash, actor, at, keyId) {
  return Buffer.from(canonical({ v: VERSION, chain, seq, hash, actor, at, keyId }), 'utf8');
}

// A public key's text -> its key object (a pure function of the text, kept because making
// the object costs more than a verification; bounded).
const publicKeys = new Map();

function publicKeyOf(b64) {
  const text = String(b64 || '');
  const known = publicKeys.get(text);
  if (known) return known;
  const raw = Buffer.from(text, 'base64');
  if (raw.length !== 32) return null;
  const key = crypto.createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
  if (publicKeys.size >= 5000) publicKeys.clear();
  publicKeys.set(text, key);
  return key;
}

function keyIdOf(b64) {
  return crypto.createHash('sha256').update(Buffer.from(String(b64 || ''), 'base64')).digest('hex').slice(0, 32);
}

function verifies(publicKeyB64, message, signatureB64) {
  try {
    const key = publicKeyOf(publicKeyB64);
    const sig = Buffer.from(String(signatureB64 || ''), 'base64');
    return Boolean(key) && sig.length === 64 && crypto.verify(null, message, key, sig);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- the database

function database() {
  const adapter = Config.get(Parse.applicationId).database.adapter;
  if (!adapter || !adapter._client || !adapter._pgp) {
    throw new E(E.INTERNAL_SERVER_ERROR, 'the audit trail needs the PostgreSQL database');
  }
  return { db: adapter._client, pgp: adapter._pgp };
}

let indexReady = null;
function ensureIndex() {
  if (!indexReady) {
    const { db } = database();
    indexReady = db.none('CREATE UNIQUE INDEX IF NOT EXISTS "AuditTrailEvent_chain_seq" ' +
      'ON "AuditTrailEvent" ("chain", "seq") WHERE "chain" IS NOT NULL')
      .catch(err => {
        indexReady = null;
        throw err;
      });
  }
  return indexReady;
}

// At start: the class may not exist yet on a new database (server-setup makes it); then the
// first appendTrail or trailSetup makes the index.
setTimeout(() => {
  ensureIndex().catch(() => undefined);
}, 1500);

function refuse(message) {
  return new E(E.VALIDATION_ERROR, message);
}

async function userRows(t, ids) {
  if (!ids.length) return new Map();
  const rows = await t.any('SELECT "objectId", "username", "active", "deletedAt" FROM "_User" ' +
    'WHERE "objectId" IN ($1:csv)', [ids]);
  return new Map(rows.map(r => [r.objectId, r]));
}

function activeUser(row) {
  return row && row.active !== false && !row.deletedAt;
}

// ---------------------------------------------------------------- keys

function parseStatement(text) {
  try {
    const s = JSON.parse(text);
    return s && typeof s === 'object' ? s : null;
  } catch {
    return null;
  }
}

async function keyRows(t, ids) {
  if (!ids.length) return new Map();
  const rows = await t.any('SELECT "objectId", "keyId", "user", "deviceId", "publicKey", ' +
    '"statement", "revokedAt" FROM "TrailKey" WHERE "keyId" IN ($1:csv)', [ids]);
  return new Map(rows.map(r => [r.keyId, r]));
}

async function deviceKey(t, deviceId) {
  return t.oneOrNone('SELECT "keyId", "publicKey", "statement", "revokedAt" FROM "TrailKey" ' +
    'WHERE "deviceId" = $1 AND "user" IS NULL ORDER BY "createdAt" LIMIT 1', [deviceId]);
}

// What a key must show to be registered (the laptop made it as domain/keys.py says).
async function checkKey(t, actor, k) {
  const who = `key ${k && k.keyId}`;
  if (!k || typeof k !== 'object') throw invalid('keys', 'each key is an object');
  for (const f of ['keyId', 'deviceId', 'publicKey', 'statement', 'certificate']) {
    if (typeof k[f] !== 'string' || !k[f]) throw invalid(f, `${who}: is required`);
  }
  if (!publicKeyOf(k.publicKey)) throw invalid('publicKey', `${who}: not an Ed25519 public key`);
  if (keyIdOf(k.publicKey) !== k.keyId) throw invalid('keyId', `${who}: does not match its public key`);
  const s = parseStatement(k.statement);
  const user = k.user || null;
  if (!s || s.v !== VERSION || s.keyId !== k.keyId || s.publicKey !== k.publicKey ||
      s.deviceId !== k.deviceId || (s.user || null) !== user) {
    throw invalid('statement', `${who}: the statement does not describe this key`);
  }
  const text = Buffer.from(k.statement, 'utf8');
  if (!user) {
    // A laptop's own key: its device id is derived from it, and it signs its own statement.
    if (k.keyId.slice(0, 16) !== k.deviceId) throw invalid('deviceId', `${who}: not this key's device`);
    if (!verifies(k.publicKey, text, k.certificate)) throw invalid('certificate', `${who}: does not verify`);
    return { user: null, legacy: s.legacy || null };
  }
  if (!ID_RE.test(user)) throw invalid('user', `${who}: not a user id`);
  const device = await deviceKey(t, k.deviceId);
  if (!device) throw refuse(`${who}: its laptop (${k.deviceId}) has no registered key`);
  if (device.revokedAt) throw denied(`${who}: its laptop's key was revoked`);
  if (!verifies(device.publicKey, text, k.certificate)) {
    throw invalid('certificate', `${who}: not certified by its laptop's key`);
  }
  const users = await userRows(t, [user]);
  if (!activeUser(users.get(user))) throw denied(`${who}: names no active user of this server`);
  if (user !== actor.id) {
    // A colleague's key carried by a shared laptop: it must have been made where they typed
    // their password (their password key signed the statement), and name an active user.
    const passKeys = await t.any('SELECT "publicKey" FROM "TrailPassKey" WHERE "user" = $1', [user]);
    if (!k.passProof || !passKeys.some(p => verifies(p.publicKey, text, k.passProof))) {
      throw denied(`${who}: made for ${users.get(user).username} on a shared laptop, but not ` +
        'proven by their password; it is registered once they sign in online');
    }
  }
  return { user, legacy: null };
}

Parse.Cloud.define('registerTrailKeys', async req => {
  const actor = await actorOf(req);
  if (actor.master) throw denied('keys are registered by a signed-in user');
  const keys = req.params.keys || [];
  const pass = req.params.passKey;
  if (!Array.isArray(keys) || keys.length > 200) throw invalid('keys', 'at most 200 keys');
  const { db } = database();
  if (typeof pass === 'string' && pass) {
    if (!publicKeyOf(pass)) throw invalid('passKey', 'not an Ed25519 public key');
    await db.tx(async t => {
      const have = await t.oneOrNone('SELECT 1 FROM "TrailPassKey" WHERE "user" = $1 AND ' +
        '"publicKey" = $2', [actor.id, pass]);
      if (!have) {
        await t.none('INSERT INTO "TrailPassKey" ("objectId", "createdAt", "updatedAt", "user", ' +
          '"publicKey") VALUES ($1, now(), now(), $2, $3)',
          [crypto.randomBytes(8).toString('hex').slice(0, 10), actor.id, pass]);
      }
    });
  }
  const results = [];
  for (const k of keys) {
    try {
      results.push({ success: await db.tx(async t => {
        const known = (await keyRows(t, [String(k && k.keyId)])).get(String(k && k.keyId));
        if (known) {
          return { keyId: known.keyId, registered: true };
        }
        const found = await checkKey(t, actor, k);
        await t.none('INSERT INTO "TrailKey" ("objectId", "createdAt", "updatedAt", "keyId", ' +
          '"user", "deviceId", "publicKey", "statement", "certificate", "registeredAt", ' +
          '"registeredBy") VALUES ($1, now(), now(), $2, $3, $4, $5, $6, $7, now(), $8)',
        [k.keyId.slice(0, 10), k.keyId, found.user, k.deviceId, k.publicKey, k.statement,
          k.certificate, actor.id]);
        return { keyId: k.keyId, registered: true };
      }) });
    } catch (err) {
      if (err && err.code === '23505') {
        results.push({ error: { code: 137, error: `key ${k.keyId}: another key has the same id` } });
      } else {
        results.push({ error: { code: err.code || 141, error: err.message || String(err) } });
      }
    }
  }
  return results;
});

Parse.Cloud.define('revokeTrailKey', async req => {
  const actor = await actorOf(req);
  if (!isAdmin(actor)) throw denied('only an administrator revokes keys');
  const id = String(req.params.id || '');
  if (!/^[0-9a-f]{16,32}$/.test(id)) throw invalid('id', 'a key id or a device id');
  const { db } = database();
  const rows = await db.any('UPDATE "TrailKey" SET "revokedAt" = now(), "updatedAt" = now(), ' +
    '"revokedBy" = $2 WHERE ("keyId" = $1 OR "deviceId" = $1) AND "revokedAt" IS NULL ' +
    'RETURNING "keyId", "revokedAt"', [id, actor.id || null]);
  const known = await db.any('SELECT "keyId" FROM "TrailKey" WHERE "keyId" = $1 OR "deviceId" = $1', [id]);
  if (!known.length) throw new E(E.OBJECT_NOT_FOUND, `no key or device ${id}`);
  return { revoked: rows.map(r => ({ keyId: r.keyId, revokedAt: r.revokedAt.toISOString() })) };
});

// ---------------------------------------------------------------- appending a segment

const COLUMNS = ['objectId', 'createdAt', 'updatedAt', 'chain', 'deviceId', 'seq', 'at', 'actor',
  'actorName', 'action', 'recordClass', 'recordId', 'siteId', 'changes', 'changesText', 'keyId',
  'prevHash', 'hash', 'signature'];
let columnSet = null;

function shape(ev) {
  // Every field as the laptop sent it; nothing the server does not check.
  const out = {};
  for (const k of [...HASHED, 'changes', 'prevHash', 'hash', 'signature']) {
    const v = ev[k];
    out[k] = v === undefined ? null : v;
  }
  return out;
}

function checkShape(ev, chain, device, site, i) {
  const where = `chain ${chain}, event ${i + 1}`;
  if (!ev || typeof ev !== 'object') throw invalid('events', `${where}: not an event`);
  if (ev.chain !== chain) throw refuse(`${where}: belongs to another chain`);
  if (ev.deviceId !== device) throw refuse(`${where}: another laptop's event`);
  if ((ev.siteId || '-') !== site) throw refuse(`${where}: about another site than its chain`);
  if (typeof ev.objectId !== 'string' || !ID_RE.test(ev.objectId)) throw invalid('objectId', `${where}: letters and digits only`);
  if (!Number.isInteger(ev.seq) || ev.seq < 1) throw invalid('seq', `${where}: a whole number from 1`);
  if (typeof ev.at !== 'string' || !ISO_RE.test(ev.at) || isNaN(Date.parse(ev.at))) {
    throw invalid('at', `${where}: an instant like 2026-01-31T12:00:00.000Z`);
  }
  if (typeof ev.action !== 'string' || !ev.action) throw invalid('action', `${where}: is required`);
  if (typeof ev.keyId !== 'string' || !ev.keyId) throw invalid('keyId', `${where}: is required`);
  for (const f of ['prevHash', 'hash']) {
    if (typeof ev[f] !== 'string' || !HEX64.test(ev[f])) throw invalid(f, `${where}: a SHA-256 in hex`);
  }
  for (const f of ['actor', 'actorName', 'recordClass', 'recordId', 'siteId', 'signature']) {
    if (ev[f] !== null && typeof ev[f] !== 'string') throw invalid(f, `${where}: text or null`);
  }
  if (typeof ev.changes !== 'string') throw invalid('changes', `${where}: the JSON text as hashed`);
  let parsed;
  try {
    parsed = JSON.parse(ev.changes);
  } catch {
    parsed = null;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('changes', `${where}: a JSON object`);
  }
  if (ev.changes.includes('\\u0000')) throw invalid('changes', `${where}: no NUL characters`);
  return parsed;
}

Parse.Cloud.define('appendTrail', async req => {
  const actor = await actorOf(req);
  if (actor.master) throw denied('the trail is appended by a signed-in user');
  const chain = req.params.chain;
  const events = req.params.events;
  const m = typeof chain === 'string' ? CHAIN_RE.exec(chain) : null;
  if (!m) throw invalid('chain', '"<device>/<site>" or "<device>/-"');
  const [, device, site] = m;
  if (!Array.isArray(events) || !events.length || events.length > MAX_EVENTS) {
    throw invalid('events', `1 to ${MAX_EVENTS} events of one chain, in order`);
  }
  const parsed = events.map((ev, i) => checkShape(ev, chain, device, site, i));
  for (let i = 1; i < events.length; i++) {
    if (events[i].seq !== events[i - 1].seq + 1) {
      throw refuse(`chain ${chain}, seq ${events[i].seq}: the segment is not in order`);
    }
  }
  const last = events[events.length - 1];
  if (!last.signature) throw refuse(`chain ${chain}, seq ${last.seq}: the segment does not end with a signed head`);
  const latest = Date.now() + SKEW_MS;
  for (const ev of events) {
    if (Date.parse(ev.at) > latest) {
      throw refuse(`chain ${chain}, seq ${ev.seq}: its time ${ev.at} is in the future`);
    }
  }
  const { db, pgp } = database();
  await ensureIndex();
  if (!columnSet) {
    columnSet = new pgp.helpers.ColumnSet(COLUMNS.map(name => {
      if (name === 'changes') return { name, mod: ':json' };
      if (name === 'at') return { name, cast: 'timestamptz' };
      return { name };
    }), { table: 'AuditTrailEvent' });
  }
  try {
    return await db.tx('append-trail', async t => {
      await t.one('SELECT pg_advisory_xact_lock(hashtextextended($1, 7411))', [chain]);
      const head = await t.oneOrNone('SELECT "seq", "hash" FROM "AuditTrailEvent" WHERE "chain" = $1 ' +
        'ORDER BY "seq" DESC LIMIT 1', [chain]);
      const headSeq = head ? Number(head.seq) : 0;
      // A segment (or its beginning) that already arrived: the same events, recognised.
      let from = 0;
      if (events[0].seq <= headSeq) {
        const upto = Math.min(headSeq, last.seq);
        const have = await t.any('SELECT "objectId", "seq", "hash" FROM "AuditTrailEvent" WHERE ' +
          '"chain" = $1 AND "seq" BETWEEN $2 AND $3 ORDER BY "seq"', [chain, events[0].seq, upto]);
        const bySeq = new Map(have.map(r => [Number(r.seq), r]));
        for (const ev of events) {
          if (ev.seq > headSeq) break;
          const h = bySeq.get(ev.seq);
          if (!h || h.objectId !== ev.objectId || h.hash !== ev.hash) {
            throw refuse(`chain ${chain}, seq ${ev.seq}: the server already holds another event ` +
              'with this sequence number (the history of a chain is fixed once it arrived)');
          }
          from += 1;
        }
      }
      const fresh = events.slice(from);
      if (!fresh.length) {
        return { chain, seq: headSeq, hash: head.hash, added: 0, already: from };
      }
      const first = fresh[0];
      if (first.seq !== headSeq + 1) {
        throw refuse(`chain ${chain}, seq ${first.seq}: the server's chain ends at seq ${headSeq}`);
      }
      const dev = await deviceKey(t, device);
      if (!dev) throw refuse(`chain ${chain}: its laptop (${device}) has no registered key`);
      let prev = head ? head.hash : GENESIS;
      if (!head) {
        const legacy = (parseStatement(dev.statement) || {}).legacy;
        prev = legacy && HEX64.test(legacy.hash) ? legacy.hash : GENESIS;
      }
      const keyIds = [...new Set(fresh.map(ev => ev.keyId))];
      const keys = await keyRows(t, keyIds);
      const users = await userRows(t, [...new Set([...keys.values()].map(k => k.user).filter(Boolean))]);
      let segmentKey = null;
      for (const ev of fresh) {
        const where = `chain ${chain}, seq ${ev.seq}`;
        if (ev.prevHash !== prev) throw refuse(`${where}: does not follow the server's chain (prevHash differs)`);
        if (eventHash(ev, prev) !== ev.hash) throw refuse(`${where}: its hash is not the hash of its content`);
        const key = keys.get(ev.keyId);
        if (!key) throw refuse(`${where}: signed with a key the server does not know (${ev.keyId})`);
        if (key.deviceId !== device) throw refuse(`${where}: signed with another laptop's key`);
        if (key.revokedAt) throw denied(`${where}: signed with a revoked key (${ev.keyId})`);
        if (key.user) {
          const user = users.get(key.user);
          if (!activeUser(user)) throw denied(`${where}: its key belongs to an inactive user`);
          if (ev.actor !== key.user) throw refuse(`${where}: the event names another user than its key's`);
          if (ev.actorName !== user.username) throw refuse(`${where}: the actor's name is not ${user.username}`);
        } else if (ev.actor !== null || ev.action !== 'login_failed') {
          throw refuse(`${where}: a laptop's own key signs only failed sign-ins`);
        }
        if (segmentKey && segmentKey !== ev.keyId) throw refuse(`${where}: the events before it are not signed`);
        segmentKey = ev.keyId;
        if (ev.signature) {
          const message = headMessage(chain, ev.seq, ev.hash, ev.actor, ev.at, ev.keyId);
          if (!verifies(key.publicKey, message, ev.signature)) throw refuse(`${where}: its signature does not verify`);
          segmentKey = null;
        }
        prev = ev.hash;
      }
      const now = new Date();
      const rows = fresh.map((ev, i) => {
        const row = shape(ev);
        row.createdAt = now;
        row.updatedAt = now;
        row.changesText = ev.changes;
        row.changes = parsed[from + i];
        return row;
      });
      for (let i = 0; i < rows.length; i += 1000) {
        await t.none(pgp.helpers.insert(rows.slice(i, i + 1000), columnSet));
      }
      return { chain, seq: last.seq, hash: last.hash, added: fresh.length, already: from };
    });
  } catch (err) {
    if (err instanceof Parse.Error) throw err;
    if (err && err.code === '23505') {
      throw refuse(`chain ${chain}: an event with this sequence number or id is already on the server`);
    }
    throw err;
  }
});

// ---------------------------------------------------------------- anchors and scope

async function readableDevices(actor) {
  const { db } = database();
  const rows = await db.any('SELECT DISTINCT "deviceId" FROM "TrailKey" WHERE "user" = $1', [actor.id]);
  return rows.map(r => r.deviceId);
}

// May this user see (or anchor) a chain? Its site's users; "/-": administrators and whoever
// has a key on that laptop.
async function mayRead(actor, chain, devices) {
  if (isAdmin(actor)) return true;
  const m = CHAIN_RE.exec(chain);
  if (!m) return false;
  if (m[2] === '-') return (devices || await readableDevices(actor)).includes(m[1]);
  return actor.sites.has(m[2]);
}

Parse.Cloud.define('trailHeads', async req => {
  const actor = await actorOf(req);
  const chains = req.params.chains;
  if (!Array.isArray(chains) || chains.length > 1000) throw invalid('chains', 'at most 1000 chains');
  const devices = isAdmin(actor) ? [] : await readableDevices(actor);
  const allowed = [];
  for (const c of chains) {
    if (typeof c === 'string' && await mayRead(actor, c, devices)) allowed.push(c);
  }
  if (!allowed.length) return {};
  const { db } = database();
  const rows = await db.any('SELECT DISTINCT ON ("chain") "chain", "seq", "hash" FROM "AuditTrailEvent" ' +
    'WHERE "chain" IN ($1:csv) ORDER BY "chain", "seq" DESC', [allowed]);
  const out = {};
  for (const r of rows) out[r.chain] = { seq: Number(r.seq), hash: r.hash };
  return out;
});

Parse.Cloud.define('trailHashes', async req => {
  const actor = await actorOf(req);
  const { chain } = req.params;
  const from = Number(req.params.from);
  const to = Number(req.params.to);
  if (typeof chain !== 'string' || !Number.isInteger(from) || !Number.isInteger(to) || to < from ||
      to - from > 100000) {
    throw invalid('chain', 'a chain and a range of at most 100,000 sequence numbers');
  }
  if (!(await mayRead(actor, chain))) throw new E(E.OBJECT_NOT_FOUND, 'no such chain');
  const { db } = database();
  const rows = await db.any('SELECT "seq", "hash" FROM "AuditTrailEvent" WHERE "chain" = $1 AND ' +
    '"seq" BETWEEN $2 AND $3 ORDER BY "seq"', [chain, from, to]);
  return rows.map(r => [Number(r.seq), r.hash]);
});

// server-setup: the index, and the facts about the chains recorded before the upgrade.
Parse.Cloud.define('trailSetup', async req => {
  if (!req.master) throw denied('the master key is required');
  await ensureIndex();
  return { ok: true };
});

Parse.Cloud.beforeFind('AuditTrailEvent', async req => {
  if (req.master) return;
  const actor = await actorOf(req);
  if (isAdmin(actor)) return;
  const devices = await readableDevices(actor);
  // Never an empty $in: the PostgreSQL adapter reads `$in: []` as "is null", which would
  // match every event about no site (and every event recorded before the upgrade).
  const clauses = [];
  if (actor.sites.size) clauses.push({ siteId: { $in: [...actor.sites] } });
  if (devices.length) clauses.push({ chain: { $in: devices.map(d => `${d}/-`) } });
  const scope = clauses.length > 1 ? { $or: clauses } : clauses[0] || { objectId: { $in: ['_'] } };
  const where = req.query._where || {};
  req.query._where = Object.keys(where).length ? { $and: [where, scope] } : scope;
});

// ---------------------------------------------------------------- written by functions only

Parse.Cloud.beforeSave('AuditTrailEvent', async req => {
  // Append-only for everyone, the master key included; created by appendTrail only (the
  // master key may load history recorded before the upgrade).
  if (req.original) throw denied('audit trail events cannot be changed');
  if (!req.master) throw denied('audit trail events are appended through appendTrail only');
});

Parse.Cloud.beforeDelete('AuditTrailEvent', () => {
  throw denied('audit trail events cannot be deleted');
});

for (const className of ['TrailKey', 'TrailLegacyChain', 'TrailPassKey']) {
  Parse.Cloud.beforeSave(className, req => {
    if (!req.master) throw denied(`${className} is written by the server only`);
  });
  Parse.Cloud.beforeDelete(className, req => {
    if (!req.master) throw denied(`${className} is written by the server only`);
  });
}

module.exports = { canonical, eventHash, headMessage, NOTHING };
