'use strict';
// The per-username lockout: ten failed password checks in fifteen minutes (at /login,
// /verifyPassword, the GraphQL logIn and firstLogin alike) lock the username until the
// window has passed or an administrator unlocks it (`desktop-audit user unlock NAME`,
// which reaches the server at the administrator's next sync).
//
// Failures are rows in PostgreSQL (table da_login_failure, outside Parse's classes, so
// no client query can see it), so the lock holds across restarts and is shared by
// several server processes. Where the database is not PostgreSQL (Back4app), the rows
// are objects of the class LoginFailure, closed to clients.
//
// A locked, a wrong and an unknown username get one answer: 101 "Invalid
// username/password.". An unknown username is counted and locked like a real one.
// Each attempt is counted before its password is checked, so parallel attempts cannot
// pass the limit; an attempt that turns out not to be a password check (a laptop-made
// account's /login before its first login) is taken back.

const WINDOW_MINUTES = 15;
const MAX_FAILURES = 10;
const { E, newObjectId } = require('./common');

function wrong() {
  return new E(E.OBJECT_NOT_FOUND, 'Invalid username/password.');
}

function adapterOf() {
  try {
    const Config = require('parse-server/lib/Config');
    const config = Config.get(Parse.applicationId);
    return config && config.database && config.database.adapter;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- PostgreSQL rows

class SqlStore {
  constructor(db) {
    this.db = db;
    this.ready = null;
  }

  prepare() {
    if (!this.ready) {
      this.ready = (async () => {
        for (let i = 0; i < 3; i++) {
          try {
            await this.db.none(`
              CREATE TABLE IF NOT EXISTS da_login_failure (
                "id" bigserial PRIMARY KEY,
                "key" text NOT NULL,
                "at" timestamptz NOT NULL DEFAULT now());
              CREATE INDEX IF NOT EXISTS da_login_failure_key_at ON da_login_failure ("key", "at")`);
            return;
          } catch (err) {
            // Two processes creating the table at once: one of them loses; try again.
            if (i === 2) throw err;
          }
        }
      })().catch(err => {
        this.ready = null;
        throw err;
      });
    }
    return this.ready;
  }

  async account(name) {
    const rows = await this.db.any(
      'SELECT * FROM "_User" WHERE lower("username") = lower($1) OR lower("email") = lower($1) LIMIT 2',
      [name]);
    return rows.find(r => r.username === name) || rows[0] || null;
  }

  async add(key) {
    await this.prepare();
    // One attempt of a username at a time (across processes), so that parallel attempts
    // each see the ones before them.
    const row = await this.db.tx(async t => {
      await t.one('SELECT pg_advisory_xact_lock(hashtext($1))::text AS locked', [key]);
      const added = await t.one('INSERT INTO da_login_failure ("key") VALUES ($1) RETURNING "id"',
        [key]);
      const counted = await t.one(
        `SELECT count(*)::int AS n FROM da_login_failure
          WHERE "key" = $1 AND "at" > now() - interval '${WINDOW_MINUTES} minutes'`, [key]);
      return { id: added.id, n: counted.n };
    });
    return { id: String(row.id), count: row.n };
  }

  async count(key) {
    await this.prepare();
    const row = await this.db.one(
      `SELECT count(*)::int AS n FROM da_login_failure
        WHERE "key" = $1 AND "at" > now() - interval '${WINDOW_MINUTES} minutes'`, [key]);
    return row.n;
  }

  async drop(id) {
    await this.prepare();
    await this.db.none('DELETE FROM da_login_failure WHERE "id" = $1', [id]);
  }

  async clear(key) {
    await this.prepare();
    await this.db.none('DELETE FROM da_login_failure WHERE "key" = $1', [key]);
  }

  async prune() {
    await this.prepare();
    await this.db.none(
      `DELETE FROM da_login_failure WHERE "at" < now() - interval '${WINDOW_MINUTES} minutes'`);
  }
}

// ---------------------------------------------------------------- objects of a class

const FAILURE_CLASS = 'LoginFailure';

class ClassStore {
  async account(name) {
    for (const field of ['username', 'email']) {
      const user = await new Parse.Query(Parse.User).equalTo(field, name)
        .first({ useMasterKey: true });
      if (user) return { username: user.get('username'), passwordVerifier: user.get('passwordVerifier') };
    }
    return null;
  }

  since() {
    return new Date(Date.now() - WINDOW_MINUTES * 60 * 1000);
  }

  async add(key) {
    const row = new Parse.Object(FAILURE_CLASS);
    row.id = newObjectId(); // the server takes client objectIds only
    row.set('key', key);
    await row.save(null, { useMasterKey: true });
    return { id: row.id, count: await this.count(key) };
  }

  count(key) {
    return new Parse.Query(FAILURE_CLASS).equalTo('key', key)
      .greaterThan('createdAt', this.since()).count({ useMasterKey: true });
  }

  async drop(id) {
    const row = new Parse.Object(FAILURE_CLASS);
    row.id = id;
    await row.destroy({ useMasterKey: true }).catch(() => undefined);
  }

  async clear(key) {
    const rows = await new Parse.Query(FAILURE_CLASS).equalTo('key', key).limit(1000)
      .find({ useMasterKey: true });
    await Parse.Object.destroyAll(rows, { useMasterKey: true });
  }

  async prune() {
    const rows = await new Parse.Query(FAILURE_CLASS).lessThan('createdAt', this.since())
      .limit(1000).find({ useMasterKey: true });
    await Parse.Object.destroyAll(rows, { useMasterKey: true });
  }
}

for (const trigger of ['beforeSave', 'beforeDelete', 'beforeFind']) {
  Parse.Cloud[trigger](FAILURE_CLASS, req => {
    if (!req.master) throw new E(E.OPERATION_FORBIDDEN, 'Permission denied.');
  });
}

let store = null;
function storeOf() {
  if (!store) {
    const adapter = adapterOf();
    const forced = process.env.DESKTOP_AUDIT_LOCKOUT_STORE;
    store = adapter && adapter._client && adapter.constructor.name === 'PostgresStorageAdapter' &&
      forced !== 'class' ? new SqlStore(adapter._client) : new ClassStore();
  }
  return store;
}

setInterval(() => {
  if (store) store.prune().catch(() => undefined);
}, 10 * 60 * 1000).unref();

// ---------------------------------------------------------------- the attempts

function normal(name) {
  return String(name).trim().toLowerCase();
}

// Count an attempt for the typed name (a username, or an email Parse also accepts). The
// key is the account's username when one matches, so both spellings share one lock.
async function begin(name) {
  const s = storeOf();
  const account = await s.account(String(name).trim());
  const key = normal(account ? account.username : name);
  if (await s.count(key) >= MAX_FAILURES) {
    return { key, id: null, locked: true, account };
  }
  const { id, count } = await s.add(key);
  if (count > MAX_FAILURES) {
    await s.drop(id);
    return { key, id: null, locked: true, account };
  }
  return { key, id, locked: false, account };
}

// The attempt was not a password check after all: take it back.
async function discard(attempt) {
  if (attempt && attempt.id) await storeOf().drop(attempt.id);
}

// The password was right: the failures of this username are forgotten.
async function succeed(attempt) {
  if (attempt) await storeOf().clear(attempt.key);
}

async function unlock(username) {
  await storeOf().clear(normal(username));
}

async function failures(username) {
  return storeOf().count(normal(username));
}

// ---------------------------------------------------------------- /login and friends

// Every password check of Parse Server (/login, /verifyPassword, GraphQL logIn, /batch
// sub-requests to them) runs UsersRouter._authenticateUserFromRequest: count it there.
function installLoginGuard() {
  let UsersRouter;
  try {
    UsersRouter = require('parse-server/lib/Routers/UsersRouter').default;
  } catch {
    return false;
  }
  const proto = UsersRouter && UsersRouter.prototype;
  if (!proto || typeof proto._authenticateUserFromRequest !== 'function') return false;
  if (proto._authenticateUserFromRequest.lockoutGuard) return true;
  const original = proto._authenticateUserFromRequest;
  const guarded = async function (req) {
    if (req.auth && (req.auth.isMaster || req.auth.isMaintenance)) {
      return original.call(this, req);
    }
    let payload = req.body || {};
    if ((!payload.username && req.query && req.query.username) ||
        (!payload.email && req.query && req.query.email)) {
      payload = req.query;
    }
    const name = payload.username || payload.email;
    if (typeof name !== 'string' || !name || typeof payload.password !== 'string' ||
        !payload.password) {
      return original.call(this, req); // Parse Server answers a missing or odd field
    }
    const attempt = await begin(name);
    if (attempt.locked) throw wrong();
    let user;
    try {
      user = await original.call(this, req);
    } catch (err) {
      const pending = attempt.account && typeof attempt.account.passwordVerifier === 'string';
      if (!(err && err.code === E.OBJECT_NOT_FOUND) || pending) {
        // Not a wrong password (or an account whose password is still on a laptop,
        // whose /login always fails before its first login): not counted.
        await discard(attempt);
      }
      throw err;
    }
    if (user.active === false || user.deletedAt) {
      throw wrong(); // a deactivated account: counted like a wrong password
    }
    await succeed(attempt);
    return user;
  };
  guarded.lockoutGuard = true;
  proto._authenticateUserFromRequest = guarded;
  return true;
}

const guarded = installLoginGuard();

module.exports = {
  WINDOW_MINUTES, MAX_FAILURES, wrong, begin, discard, succeed, unlock, failures, guarded,
};
