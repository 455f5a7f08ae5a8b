'use strict';
// Live Query scoping: a subscriber hears only about the sites they are assigned to.
//
// The client's `where` is kept as it is but can only narrow: it becomes one branch of an
// `$and` whose other branch is the server's own `site $in [the user's sites]`. Live
// Query's matcher evaluates every branch of an `$and` on its own, so no shape of the
// client's part (a pointer to another site, `$in` mixing sites, `$or`, `$and`, nesting,
// `$ne`, `$exists`, `$regex`, dotted keys) can match a record of another site. (Adding
// `$in` to the client's own `site` constraint does not work: the matcher compares a
// pointer constraint by equality and ignores operators merged into it.)
//
// Events carry the record before the change (`original`) on updates, enters and leaves;
// a record moved between sites must not show a subscriber its version on a site they
// are not assigned to, so afterLiveQueryEvent blanks any version of another site.
//
// A subscription lives on after the account changes: each event is judged again against
// the account as it is now, so a deactivated account hears nothing more, and a site taken
// off a user is not heard from any more.
//
// The account is read from the database and kept here at most one second (`current`), so
// that a burst of events costs one read per subscriber and second, not one per event. A
// save of the account through this process drops it at once (accounts.js); a save through
// another process of the group is seen here within that second. That second is safe: the
// change itself reached the server only at an administrator's sync, and a subscriber hears
// within it only what they could read a second earlier; meanwhile the account's sessions
// are ended in PostgreSQL and dropped from the group's session cache (Redis) at once, so
// it can neither read nor write through any process (index.js: only a read racing the
// save can keep an older copy, at most five seconds), and whatever it subscribes to
// hears nothing (each event reads the account here).

const { E, actorOf, isAdmin, pointerId, sitePointers } = require('./common');

const LIVE_CLASSES = ['AuditFinding', 'AuditReview'];

function scoped(where, siteIds) {
  const scope = { site: { $in: sitePointers(siteIds) } };
  const given = where && typeof where === 'object' && !Array.isArray(where) ? where : {};
  return Object.keys(given).length ? { $and: [given, scope] } : scope;
}

const CURRENT_MS = 1000; // how long an account read here is used (see above)
const current = new Map(); // userId -> {at, user}

async function currentUser(id) {
  const hit = current.get(id);
  if (hit && Date.now() - hit.at < CURRENT_MS) return hit.user;
  const user = await new Parse.Query(Parse.User).get(id, { useMasterKey: true })
    .catch(() => null);
  if (current.size > 10000) current.clear();
  current.set(id, { at: Date.now(), user });
  return user;
}

// The account was saved through this process: read it again at its next event.
function forgetUser(id) {
  current.delete(id);
}

function siteOf(object) {
  return object && typeof object.get === 'function' ? pointerId(object.get('site')) : null;
}

// The version of a record a subscriber may not see: only which record it was.
function blank(object, className) {
  const out = new Parse.Object(className);
  out.id = object.id;
  return out;
}

for (const className of LIVE_CLASSES) {
  Parse.Cloud.beforeSubscribe(className, async req => {
    if (req.master) return;
    const actor = await actorOf(req); // no session, a deactivated account: refused
    if (!actor.role) throw new E(E.OPERATION_FORBIDDEN, 'this account has no role');
    if (isAdmin(actor)) return;
    req.query._where = scoped(req.query._where, [...actor.sites]);
  });

  Parse.Cloud.afterLiveQueryEvent(className, async req => {
    if (req.useMasterKey) return;
    let actor;
    try {
      const user = req.user && await currentUser(req.user.id);
      actor = await actorOf({ user, master: false });
    } catch {
      req.sendEvent = false; // the session ended or the account was deactivated
      return;
    }
    if (isAdmin(actor)) return;
    const allowed = id => id !== null && actor.sites.has(id);
    if (req.object && !allowed(siteOf(req.object))) {
      if (req.original && allowed(siteOf(req.original))) {
        req.object = req.original; // it left the user's sites: show it as it was there
      } else {
        req.sendEvent = false;
        return;
      }
    }
    if (req.original && !allowed(siteOf(req.original))) {
      req.original = blank(req.original, className);
    }
  });
}

module.exports = { scoped, forgetUser, LIVE_CLASSES };
