'use strict';
// Parse Server's own classes that the laptops never use through a session: closed to
// every session. Their class-level permissions are closed too, by server-setup; these
// triggers hold even before it ran. The master key keeps them.

const { E } = require('./common');

const CLOSED = ['_Role', '_Installation', '_Audience'];

for (const className of CLOSED) {
  for (const trigger of ['beforeSave', 'beforeDelete', 'beforeFind']) {
    Parse.Cloud[trigger](className, req => {
      if (!req.master) throw new E(E.OPERATION_FORBIDDEN, 'Permission denied.');
    });
  }
}

// A session posted to /sessions (or /classes/_Session) is created by Parse Server before
// the class-level permissions refuse the request: the client gets no token, but the row
// stays. Sessions are made by signing in only (with the master key, inside Parse Server),
// so such a request is refused before anything is written. (_Session takes no triggers.)
function closeSessionCreation() {
  let RestWrite;
  try {
    RestWrite = require('parse-server/lib/RestWrite');
  } catch {
    return false;
  }
  const proto = RestWrite && RestWrite.prototype;
  if (!proto || typeof proto.handleSession !== 'function') return false;
  if (proto.handleSession.closed) return true;
  const original = proto.handleSession;
  const closed = function () {
    if (this.className === '_Session' && !this.query && !this.response && this.auth &&
        !this.auth.isMaster && !this.auth.isMaintenance) {
      throw new E(E.OPERATION_FORBIDDEN, 'Permission denied.');
    }
    return original.call(this);
  };
  closed.closed = true;
  proto.handleSession = closed;
  return true;
}

const sessionCreationClosed = closeSessionCreation();

module.exports = { CLOSED, sessionCreationClosed };
