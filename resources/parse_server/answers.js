'use strict';
// What the server answers, made safe before it leaves (an Express middleware in front of
// Parse Server, see index.js):
//
// * A create whose objectId exists answers 137 only when the caller may see that record
//   (their own create arriving again: the sync's exactly-once push relies on it); a record
//   on a site they cannot see is answered like a missing one (101), and a clash on a
//   unique index (two writes racing past the rules' check) gets the same answer as the
//   rules' check: 142 naming the key's field.
// * `/batch` with "transaction": true is refused with a 400: Parse Server 9 runs such a
//   batch in one database session that every concurrent request of the process shares,
//   and answers a refused write in it with a 500.
// * GraphQL answers carry no stack traces and no file paths.

const TRANSACTION_REFUSED = 'transaction batches are refused: send the requests without ' +
  '"transaction" (each is judged and answered on its own)';
const MAX_BODY = 25 * 1024 * 1024;

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', chunk => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve(text ? JSON.parse(text) : {});
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------- paths and stack traces

const PATH = /(?:[A-Za-z]:)?(?:\/[\w.@+-]+){2,}(?::\d+){0,2}/g;

function scrub(value) {
  if (typeof value === 'string') return value.replace(PATH, '[server]');
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'stacktrace' || k === 'stack' || k === 'exception') continue;
      out[k] = scrub(v);
    }
    return out;
  }
  return value;
}

// ---------------------------------------------------------------- 137

function userOf(req) {
  const auth = req.auth;
  if (!auth || auth.isMaster || auth.isMaintenance || !auth.user) return null;
  const user = auth.user;
  const sites = new Set((user.get('sites') || []).map(p => (p && (p.id || p.objectId)) || p));
  return { role: user.get('role'), sites };
}

// The answer a create of `className` with `body` gets instead of a 137 (null: keep it).
async function explainDuplicate(req, className, body, isCreate) {
  const user = userOf(req);
  if (!user) return null;
  // Loaded when first needed: Cloud Code (and the Parse global) exist by then.
  // eslint-disable-next-line global-require
  const rules = require('./cloud/rules');
  const book = await rules.rulebook();
  const decl = book && book.byParse[className];
  if (!decl) return null;
  const id = body && body.objectId;
  if (isCreate && typeof id === 'string') {
    const existing = await new Parse.Query(className).get(id, { useMasterKey: true }).catch(() => null);
    if (existing) {
      const site = decl.siteIsSelf ? existing.id
        : decl.siteField ? (existing.get(decl.siteField) || {}).id : null;
      const visible = user.role === 'admin' || (site && user.sites.has(site)) ||
        (!decl.siteField && !decl.siteIsSelf);
      return visible ? null : { code: 101, error: 'Object not found.' };
    }
  }
  const key = decl.uniqueKeys[decl.uniqueKeys.length - 1];
  if (!key) return null;
  const field = key.fields[key.fields.length - 1];
  return { code: 142, error: `${field}: another record already holds this ${key.fields.join(', ')}; change it and sync again` };
}

function classOf(path, mount) {
  const m = path.startsWith(`${mount}/classes/`) ? path.slice(mount.length + 9).split('/') : null;
  if (!m || !m[0]) return null;
  return { className: decodeURIComponent(m[0]), id: m[1] || null };
}

function wrapJson(res, rewrite) {
  const json = res.json.bind(res);
  res.json = body => {
    Promise.resolve()
      .then(() => rewrite(body))
      .then(out => {
        if (out && out.status) res.status(out.status);
        json(out ? out.body : body);
      }, () => json(body));
    return res;
  };
}

module.exports = function answers({ mountPath = '/parse', graphQLPath = '/graphql' } = {}) {
  return async (req, res, next) => {
    const path = (req.path || req.url || '').split('?')[0];
    try {
      if (req.method === 'POST' && path === `${mountPath}/batch`) {
        const body = await readJson(req);
        if (body && body.transaction === true) {
          res.status(400).json({ code: 119, error: TRANSACTION_REFUSED });
          return;
        }
        req.body = body;
        req._body = true;
        wrapJson(res, async out => {
          if (!Array.isArray(out)) return null;
          const requests = Array.isArray(body.requests) ? body.requests : [];
          let changed = false;
          const results = await Promise.all(out.map(async (item, i) => {
            if (!item || !item.error || item.error.code !== 137) return item;
            const sub = requests[i] || {};
            const target = classOf(String(sub.path || '').replace(/^\/[^/]+(?=\/classes\/)/, mountPath), mountPath);
            if (!target) return item;
            const better = await explainDuplicate(req, target.className, sub.body,
              String(sub.method).toUpperCase() === 'POST');
            if (!better) return item;
            changed = true;
            return { error: better };
          }));
          return changed ? { body: results } : null;
        });
      } else if ((req.method === 'POST' || req.method === 'PUT') && classOf(path, mountPath)) {
        const target = classOf(path, mountPath);
        wrapJson(res, async out => {
          if (!out || out.code !== 137) return null;
          const better = await explainDuplicate(req, target.className, req.body,
            req.method === 'POST');
          if (!better) return null;
          return { status: better.code === 101 ? 404 : 400, body: better };
        });
      } else if (path.startsWith(graphQLPath)) {
        const send = res.send.bind(res);
        res.send = body => {
          if (typeof body === 'string' && body.includes('"errors"')) {
            try {
              return send(JSON.stringify(scrub(JSON.parse(body))));
            } catch {
              return send(body);
            }
          }
          if (body && typeof body === 'object' && !Buffer.isBuffer(body)) return send(scrub(body));
          return send(body);
        };
      }
    } catch {
      res.status(400).json({ code: 107, error: 'the request body is not valid JSON' });
      return;
    }
    next();
  };
};
