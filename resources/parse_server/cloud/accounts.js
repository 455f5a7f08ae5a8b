'use strict';
// Accounts: who may change a user, saveUsers from an admin's sync, the first online login.

const crypto = require('crypto');
const { argon2Verify } = require('hash-wasm');

const {
  ROLES, SITE_SCOPED, PROTECTED_USER_FIELDS, SECRET_USER_FIELDS, TOMBSTONE, LOG_TYPE_CLASS, E,
  denied, invalid, pointerId, actorOf, isAdmin, requireRole, requireSite, changed, blank, asDate,
  fetchMaster, sitePointers, escapeRegex,
} = require('./common');

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

