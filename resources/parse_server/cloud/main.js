'use strict';
// desktop_audit rules, enforced on the server too (see shared design DOMAIN.md).
//
// Who may write what comes from the `role` and `sites` fields of the signed-in
// _User. The master key is the administrator's tool and passes the role checks,
// but the data-integrity rules (the audit trail is append-only) hold for it too.
// The Parse schema itself is generated from desktop_audit/schema.py by
// `desktop-audit server-setup`. Each concern lives in its own module.

Parse.allowCustomObjectId = true;

require('./accounts');
require('./records');
require('./livequery');
require('./files');
require('./system');
require('./stamps');
// Last: the trail module registers the trail's own read scope.
require('./trail');
