'use strict';
// Accounts: who may change a user, saveUsers from an admin's sync, the first online login.

const crypto = require('crypto');

const {
  ROLES, SITE_SCOPED, PROTECTED_USER_FIELDS, SECRET_USER_FIELDS, TOMBSTONE, LOG_TYPE_CLASS, E,
  denied, invalid, pointerId, actorOf, isAdmin, requireRole, requireSite, changed, blank, asDate,
  fetchMaster, sitePointers, escapeRegex,
} = require('./common');

const lockout = require('./lockout');
const argon2 = require('./argon2_pool');

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
  if (isNew) throw denied('accounts are created by an administrator');
  await actorOf(req);
  // Username, role, sites, active, ACL, tombstone: the master key's (an administrator's
  // sync, through saveUsers), for every session, an administrator's included.
  for (const f of PROTECTED_USER_FIELDS) {
    if (changed(req, f)) throw denied(`${f} is changed by an administrator's sync only`);
  }
});

// A deactivated (or deleted) account loses its sessions as soon as that reaches the
// server (the administrator's next sync); it cannot sign in again (lockout.js, firstLogin
// and beforeLogin below).
Parse.Cloud.afterSave(Parse.User, async req => {
  const user = req.object;
  require('./livequery').forgetUser(user.id); // its subscriptions judge it as it is now
  if (user.get('active') !== false && !user.get(TOMBSTONE)) return;
  const sessions = await new Parse.Query(Parse.Session).equalTo('user', user).limit(1000)
    .find({ useMasterKey: true });
  if (sessions.length) await Parse.Object.destroyAll(sessions, { useMasterKey: true });
});

Parse.Cloud.beforeLogin(req => {
  const user = req.object;
  if (user.get('active') === false || user.get(TOMBSTONE)) throw lockout.wrong();
});

Parse.Cloud.beforeDelete(Parse.User, async req => {
  if (req.master) return;
  const actor = await actorOf(req);
  if (!isAdmin(actor)) throw denied('only an administrator deletes accounts');
});

// Colleagues see each other; a deactivated account sees nobody (actorOf refuses it).
Parse.Cloud.beforeFind(Parse.User, async req => {
  if (req.master) return;
  await actorOf(req);
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

// Administrators lift the lockout of usernames (`desktop-audit user unlock NAME`; the
// administrator's sync calls this with the users unlocked on the laptop).
Parse.Cloud.define('unlockUsers', async req => {
  const actor = await actorOf(req);
  if (!isAdmin(actor)) throw denied('only an administrator unlocks accounts');
  const ids = req.params && req.params.users;
  if (!Array.isArray(ids) || ids.length > 100 || !ids.every(i => typeof i === 'string')) {
    throw invalid('users', 'an array of at most 100 objectIds is required');
  }
  const results = [];
  for (const id of ids) {
    const user = await fetchMaster(Parse.User, id);
    if (!user) {
      results.push({ error: { code: E.OBJECT_NOT_FOUND, error: `no user ${id}` } });
      continue;
    }
    await lockout.unlock(user.get('username'));
    results.push({ success: { objectId: id } });
  }
  return results;
});

// First online login of an account made on a laptop: check the password against the
// argon2id verifier, then make it the server password. Only while the account has no
// server password of its own (the verifier is still there). Every failure, a locked
// username and an unknown one get the same answer as a wrong password; failures count
// towards the per-username lockout like failures at /login. The check runs in a worker
// thread, in turn per client address and username (argon2_pool.js).
const MAX_NAME = 254;
const MAX_PASSWORD = 1024;

Parse.Cloud.define('firstLogin', async req => {
  const { username, password } = req.params || {};
  if (typeof username !== 'string' || typeof password !== 'string' || !username || !password ||
      username.length > MAX_NAME || password.length > MAX_PASSWORD) {
    throw lockout.wrong();
  }
  const attempt = await lockout.begin(username);
  if (attempt.locked) throw lockout.wrong();
  const user = await new Parse.Query(Parse.User)
    .equalTo('username', username)
    .first({ useMasterKey: true });
  const verifier = user && user.get('passwordVerifier');
  const usable = user && typeof verifier === 'string' && verifier.startsWith('$argon2') &&
    user.get('active') !== false && !user.get(TOMBSTONE);
  let ok;
  try {
    ok = await argon2.verify({ address: req.ip, username: attempt.key, password,
      hash: usable ? verifier : null });
  } catch (err) {
    await lockout.discard(attempt); // refused before any check: not a failure
    throw lockout.wrong();
  }
  if (!ok) throw lockout.wrong();
  await lockout.succeed(attempt);
  user.setPassword(password);
  user.unset('passwordVerifier');
  await user.save(null, { useMasterKey: true });
  return { ok: true };
});
