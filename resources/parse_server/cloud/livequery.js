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
// the account as it is now (read again at least every second, and at once after the
// account is saved in this process), so a deactivated account hears nothing more, and a
// site taken off a user is not heard from any more.

const { E, actorOf, isAdmin, pointerId, sitePointers } = require('./common');

const LIVE_CLASSES = ['AuditFinding', 'AuditReview'];

function scoped(where, siteIds) {
  const scope = { site: { $in: sitePointers(siteIds) } };
  const given = where && typeof where === 'object' && !Array.isArray(where) ? where : {};
  return Object.keys(given).length ? { $and: [given, scope] } : scope;
}

const current = new Map(); // userId -> {at, user}

async function currentUser(id) {
  const hit = current.get(id);
  if (hit && Date.now() - hit.at < 1000) return hit.user;
  const user = await new Parse.Query(Parse.User).get(id, { useMasterKey: true })
    .catch(() => null);
  if (current.size > 10000) current.clear();
  current.set(id, { at: Date.now(), user });
  return user;
}

// The account was saved: read it again at its next event.
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
