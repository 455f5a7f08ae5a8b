'use strict';
// A record's updatedAt (and a new record's createdAt) is the moment it is written, not the
// moment its request began.
//
// Parse Server stamps a write when it starts handling it (RestWrite's constructor), before
// the beforeSave triggers run (the rules engine reads the rulebook, the acting user, the
// records pointed at, the trail) and before the database write. Under load (many laptops
// syncing at once, a /batch whose fifty writes are judged side by side, several server
// processes on one database) seconds pass between the two. The laptops pull by
// `updatedAt >= cursor - 5 s` (desktop_audit/sync/engine.py): a write stamped early but
// committed after the pull had seen later stamps would be paged past, and never pulled.
// Stamped here, after the triggers, only the database write itself lies between the stamp
// and the commit.

function installLateStamps() {
  let RestWrite;
  try {
    RestWrite = require('parse-server/lib/RestWrite');
  } catch {
    return false;
  }
  const proto = RestWrite && RestWrite.prototype;
  if (!proto || typeof proto.setRequiredFieldsIfNeeded !== 'function') return false;
  if (proto.setRequiredFieldsIfNeeded.lateStamp) return true;
  const original = proto.setRequiredFieldsIfNeeded;
  // setRequiredFieldsIfNeeded runs after the beforeSave triggers and sets the record's
  // createdAt and updatedAt (a create) or updatedAt (an update) from this.updatedAt,
  // which the answer to the client carries too.
  const stamped = function () {
    this.updatedAt = new Date().toISOString();
    return original.call(this);
  };
  stamped.lateStamp = true;
  proto.setRequiredFieldsIfNeeded = stamped;
  return true;
}

const lateStamps = installLateStamps();

module.exports = { lateStamps };
