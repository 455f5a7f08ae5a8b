'use strict';
// Reads that concurrent writes share.
//
// Parse Server runs the sub-requests of a /batch at once and has no batch-level hook, so
// each write's beforeSave asks for what it needs on its own. What is asked in the same
// turn of the event loop goes to the database together: one query for every record of a
// class that the waiting writes point at, one for every unique key they would take. Nothing
// is kept after the answer: each question is answered from the database as it is when the
// question is asked (a write asks after everything it waited for), so several server
// processes can serve one database, and no answer outlives the turn that asked for it.

const Config = require('parse-server/lib/Config');

const { TOMBSTONE } = require('./common');

// ---------------------------------------------------------------- one query per turn

// A function of one key whose calls in the same turn are answered by one call of
// `run(keys)` (keys deduplicated; it returns a Map key -> answer, a missing key is null).
function perTurn(run) {
  let waiting = null;
  return key => {
    if (!waiting) {
      const mine = new Map();
      waiting = mine;
      setImmediate(() => {
        waiting = null;
        const keys = [...mine.keys()];
        Promise.resolve()
          .then(() => run(keys))
          .then(found => {
            for (const [k, callers] of mine) {
              const answer = found.has(k) ? found.get(k) : null;
              for (const c of callers) c.resolve(answer);
            }
          }, err => {
            for (const callers of mine.values()) for (const c of callers) c.reject(err);
          });
      });
    }
    return new Promise((resolve, reject) => {
      if (!waiting.has(key)) waiting.set(key, []);
      waiting.get(key).push({ resolve, reject });
    });
  };
}

const groups = new Map(); // what is asked (kind, class, ...) -> (key => Promise)

function grouped(group, make) {
  if (!groups.has(group)) groups.set(group, perTurn(make(group)));
  return groups.get(group);
}

// ---------------------------------------------------------------- records by id

const PAGE = 1000;

// A record of `className` by objectId (the master key's view), or null.
function record(className, id) {
  return grouped(`record\u0000${className}`, () => async ids => {
    const found = new Map();
    for (let i = 0; i < ids.length; i += PAGE) {
      const part = ids.slice(i, i + PAGE);
      const q = new Parse.Query(className);
      q.containedIn('objectId', part);
      q.limit(part.length);
      for (const o of await q.find({ useMasterKey: true })) found.set(o.id, o);
    }
    return found;
  })(id);
}

// ---------------------------------------------------------------- journaled events

// The journaled events about a record with one of `actions`, newest first, at most `limit`
// ({actor, at, action, changes}): who did a workflow step and when.
function events(className, recordId, actions, limit) {
  const names = [...actions].sort();
  const group = ['events', className, limit, ...names].join('\u0000');
  return grouped(group, () => async ids => {
    const found = new Map();
    const pg = postgres();
    if (pg) {
      const rows = await pg.db.any(
        'SELECT "recordId", "actor", "at", "action", "changes" FROM (SELECT "recordId", "actor", ' +
        '"at", "action", "changes", row_number() OVER (PARTITION BY "recordId" ORDER BY "at" DESC) ' +
        'AS n FROM "AuditTrailEvent" WHERE "recordClass" = $1 AND "recordId" IN ($2:csv) AND ' +
        '"action" IN ($3:csv)) e WHERE n <= $4 ORDER BY "recordId", n', [className, ids, names, limit]);
      for (const r of rows) {
        if (!found.has(r.recordId)) found.set(r.recordId, []);
        found.get(r.recordId).push({ actor: r.actor, at: r.at, action: r.action, changes: r.changes });
      }
      return found;
    }
    for (const id of ids) {
      const q = new Parse.Query('AuditTrailEvent');
      q.equalTo('recordClass', className);
      q.equalTo('recordId', id);
      q.containedIn('action', names);
      q.descending('at');
      q.limit(limit);
      const list = await q.find({ useMasterKey: true });
      found.set(id, list.map(ev => ({ actor: ev.get('actor'), at: ev.get('at'), action: ev.get('action'),
        changes: ev.get('changes') })));
    }
    return found;
  })(recordId).then(list => list || []);
}

// ---------------------------------------------------------------- unique keys

function postgres() {
  try {
    const adapter = Config.get(Parse.applicationId).database.adapter;
    if (adapter && adapter._client && adapter._pgp && /Postgres/.test(adapter.constructor.name)) {
      return { db: adapter._client, pgp: adapter._pgp };
    }
  } catch {
    // not configured yet
  }
  return null;
}

const SQL_TYPE = {
  string: 'text', text: 'text', enum: 'text', pointer: 'text',
  date: 'timestamptz', datetime: 'timestamptz', int: 'double precision', bool: 'boolean',
};

function sqlValue(field, value) {
  if (field.kind === 'date' || field.kind === 'datetime') return new Date(value).toISOString();
  return value;
}

// One query for every write of the turn that would take a key: the live records (other
// than the write itself) that already hold it. Compared as the unique index compares
// (lower() for a case-insensitive key), so the answer and the index agree.
async function clashesSql(pg, decl, key, items) {
  const { db, pgp } = pg;
  const params = [];
  const arg = (value, type) => {
    params.push(value);
    return `$${params.length}::${type}`;
  };
  const rows = items.map((item, i) => `(${[
    arg(i, 'int'), arg(item.objectId || null, 'text'),
    ...key.fields.map(f => arg(sqlValue(decl.fields[f], item.rec[f]), SQL_TYPE[decl.fields[f].kind])),
  ].join(', ')})`);
  const names = key.fields.map((f, n) => `c${n}`);
  const on = key.fields.map((f, n) => {
    const kind = decl.fields[f].kind;
    const col = `t.${pgp.as.name(f)}`;
    return key.nocase && (kind === 'string' || kind === 'text')
      ? `lower(${col}) = lower(w.c${n})` : `${col} = w.c${n}`;
  });
  const sql = `SELECT DISTINCT ON (w.i) w.i FROM (VALUES ${rows.join(', ')}) AS w(i, oid, ${names.join(', ')}) ` +
    `JOIN ${pgp.as.name(decl.parseName)} t ON ${on.join(' AND ')} ` +
    `WHERE t.${pgp.as.name(TOMBSTONE)} IS NULL AND t."objectId" IS DISTINCT FROM w.oid`;
  const found = await db.any(sql, params);
  return new Set(found.map(r => Number(r.i)));
}

function escapeRegex(text) {
  return String(text).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Without PostgreSQL (Back4app's MongoDB): a query per write, through Parse.
async function clashParse(decl, key, rec, objectId) {
  const q = new Parse.Query(decl.parseName);
  for (const name of key.fields) {
    const field = decl.fields[name];
    const v = rec[name];
    if (field.kind === 'pointer') {
      q.equalTo(name, { __type: 'Pointer', className: field.targetParse, objectId: v });
    } else if (field.kind === 'datetime' || field.kind === 'date') {
      q.equalTo(name, new Date(v));
    } else if (key.nocase && typeof v === 'string') {
      q.matches(name, `^${escapeRegex(v)}$`, 'i');
    } else {
      q.equalTo(name, v);
    }
  }
  q.doesNotExist(TOMBSTONE);
  if (objectId) q.notEqualTo('objectId', objectId);
  return Boolean(await q.first({ useMasterKey: true }));
}

// Whether another live record already holds the unique key `key` with the values of `rec`.
function uniqueClash(decl, key, rec, objectId) {
  const pg = postgres();
  const kinds = key.fields.map(f => decl.fields[f].kind);
  if (!pg || kinds.some(kind => !SQL_TYPE[kind])) return clashParse(decl, key, rec, objectId);
  // (the writes asked together have the same class, key fields, kinds and case rule)
  const group = ['unique', decl.parseName, ...key.fields, ...kinds, key.nocase ? 1 : 0].join('\u0000');
  const ask = grouped(group, () => async tickets => {
    let hit;
    try {
      hit = await clashesSql(postgres(), tickets[0].decl, tickets[0].key, tickets);
    } catch {
      // (a class whose table is not made yet, say): asked one by one, through Parse
      const each = await Promise.all(tickets.map(t => clashParse(t.decl, t.key, t.rec, t.objectId)));
      hit = new Set(each.flatMap((clash, i) => (clash ? [i] : [])));
    }
    return new Map(tickets.map((t, i) => [t, hit.has(i)]));
  });
  return ask({ decl, key, rec, objectId });
}

module.exports = { perTurn, record, events, uniqueClash };
