#!/usr/bin/env node
'use strict';
// Smoke check of the local backend, by hand:
//   node smoke.js            (starts the server fresh, checks, stops it)
//   node smoke.js --keep     (leaves it running)
// Proves: start, /health, classes made with the master key, a /batch of 50 creates
// with client ids, a repeated id answers 137, accounts, login, first login with an
// argon2id verifier, and the role and trail rules of cloud/main.js.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { argon2id } = require('hash-wasm');

const HERE = __dirname;
const APP_ID = process.env.PARSE_APP_ID || 'desktop-audit-dev';
const MASTER = process.env.PARSE_MASTER_KEY || 'dev-master-key';
const keep = process.argv.includes('--keep');
let BASE = '';
let failures = 0;

function server(...args) {
  return execFileSync(path.join(HERE, 'server.sh'), args, { encoding: 'utf8' }).trim();
}

async function call(method, p, body, { master = false, session = null } = {}) {
  const headers = { 'X-Parse-Application-Id': APP_ID, 'Content-Type': 'application/json' };
  if (master) headers['X-Parse-Master-Key'] = MASTER;
  if (session) headers['X-Parse-Session-Token'] = session;
  const res = await fetch(BASE + p, { method, headers, body: body ? JSON.stringify(body) : undefined });
  let json = null;
  try { json = await res.json(); } catch { json = null; }
  return { status: res.status, json };
}

function check(name, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
  if (!ok) failures += 1;
}

function id10() {
  const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(crypto.randomBytes(10), b => a[b % a.length]).join('');
}

const STRING = { type: 'String' };
const PTR = c => ({ type: 'Pointer', targetClass: c });
const CLP = {
  find: { requiresAuthentication: true }, count: { requiresAuthentication: true },
  get: { requiresAuthentication: true }, create: { requiresAuthentication: true },
  update: { requiresAuthentication: true }, delete: { requiresAuthentication: true },
  addField: {}, protectedFields: { '*': [] },
};
const SCHEMAS = {
  AuditSite: { siteCode: STRING, siteName: STRING, region: STRING, siteOwner: PTR('_User') },
  LegalRegisterEntry: { site: PTR('AuditSite'), referenceCode: STRING, complianceStatus: STRING,
    dueDate: { type: 'Date' } },
  AuditFinding: { site: PTR('AuditSite'), logType: STRING, sourceId: STRING, severity: STRING,
    description: STRING, correctiveAction: STRING, rootCause: STRING, verificationNote: STRING,
    closed: { type: 'Boolean' }, closedAt: { type: 'Date' } },
  AuditTrailEvent: { deviceId: STRING, seq: { type: 'Number' }, action: STRING, prevHash: STRING,
    hash: STRING, siteId: STRING },
};

async function main() {
  const t0 = process.hrtime.bigint();
  server('start', '--fresh');
  const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
  BASE = server('url');
  console.log(`start --fresh: ${startMs.toFixed(0)} ms`);
  const state = path.dirname(server('status').split('\n').find(l => l.startsWith('state:')).slice(7) + '/x');
  const pid = fs.readFileSync(path.join(state, `parse-${new URL(BASE).port}.pid`), 'utf8').trim();

  const health = await call('GET', '/health');
  check('/health answers ok', health.status === 200 && health.json.status === 'ok', health);

  for (const [cls, fields] of Object.entries(SCHEMAS)) {
    const r = await call('POST', `/schemas/${cls}`, { className: cls, fields, classLevelPermissions: CLP },
      { master: true });
    check(`create class ${cls}`, r.status === 200, r.json);
  }
  const u = await call('PUT', '/schemas/_User', {
    className: '_User',
    fields: { role: STRING, fullName: STRING, active: { type: 'Boolean' },
      sites: { type: 'Array' }, passwordVerifier: STRING },
    classLevelPermissions: { ...CLP, create: {}, protectedFields: { '*': ['passwordVerifier'] } },
  }, { master: true });
  check('extend _User', u.status === 200, u.json);

  // Accounts: an admin made with the master key, a field worker made from a laptop verifier.
  const adminId = id10();
  let r = await call('POST', '/classes/_User', { objectId: adminId, username: 'admin', email: 'a@x.test',
    password: 'admin-pass-1', role: 'admin' }, { master: true });
  check('admin account with a client objectId', r.status === 201 && r.json.objectId === adminId, r.json);
  const signup = await call('POST', '/users', { username: 'mallory', password: 'x1234567', role: 'admin' });
  check('a sign-up that makes itself admin is refused', signup.status >= 400, signup.json);
  const login = await call('POST', '/login', { username: 'admin', password: 'admin-pass-1' });
  check('login returns a session and the role', login.status === 200 && login.json.sessionToken &&
    login.json.role === 'admin', login.json);
  const admin = login.json.sessionToken;
  const bad = await call('POST', '/login', { username: 'admin', password: 'wrong' });
  check('wrong password is code 101', bad.json && bad.json.code === 101, bad.json);

  const siteId = id10();
  r = await call('POST', '/classes/AuditSite', { objectId: siteId, siteCode: 'PLT-01', siteName: 'Plant',
    region: 'North', siteOwner: { __type: 'Pointer', className: '_User', objectId: adminId } },
    { session: admin });
  check('admin creates a site', r.status === 201, r.json);

  const verifier = await argon2id({ password: 'field-pass-1', salt: crypto.randomBytes(16),
    parallelism: 4, iterations: 3, memorySize: 65536, hashLength: 32, outputType: 'encoded' });
  const fieldId = id10();
  r = await call('POST', '/functions/saveUsers', { users: [{ objectId: fieldId, username: 'fred',
    email: 'f@x.test', role: 'field_staff', sites: [siteId], passwordVerifier: verifier }] },
  { session: admin });
  check('admin pushes a laptop-made account', r.status === 200 && r.json.result[0].success, r.json);
  r = await call('GET', `/users/${fieldId}`, null, { session: admin });
  check('the verifier is not readable by a session', r.status === 200 && !('passwordVerifier' in r.json), r.json);
  r = await call('POST', '/login', { username: 'fred', password: 'field-pass-1' });
  check('no usable server password before first login', r.json.code === 101, r.json);
  r = await call('POST', '/functions/firstLogin', { username: 'fred', password: 'not-it' });
  check('first login with a wrong password fails like a login', r.json.code === 101, r.json);
  const tf = Date.now();
  r = await call('POST', '/functions/firstLogin', { username: 'fred', password: 'field-pass-1' });
  check(`first login checks the verifier (${Date.now() - tf} ms)`, r.status === 200, r.json);
  r = await call('POST', '/login', { username: 'fred', password: 'field-pass-1' });
  check('then login works', r.status === 200 && r.json.role === 'field_staff', r.json);
  const fred = r.json.sessionToken;
  r = await call('POST', '/functions/firstLogin', { username: 'fred', password: 'field-pass-1' });
  check('first login works once only', r.json.code === 101, r.json);
  r = await call('PUT', `/users/${fieldId}`, { role: 'admin' }, { session: fred });
  check('a user cannot change their own role', r.status >= 400, r.json);

  // Batch of 50 creates with client ids; the same id again answers 137.
  const ids = Array.from({ length: 50 }, id10);
  const tb = Date.now();
  r = await call('POST', '/batch', { requests: ids.map((id, i) => ({ method: 'POST',
    path: '/parse/classes/LegalRegisterEntry', body: { objectId: id, referenceCode: `REF-${i}`,
      complianceStatus: 'compliant', site: { __type: 'Pointer', className: 'AuditSite', objectId: siteId } } })) },
  { session: admin });
  const okCount = r.status === 200 ? r.json.filter(x => x.success).length : 0;
  check(`batch of 50 creates with client ids (${Date.now() - tb} ms)`, okCount === 50, r.json);
  r = await call('POST', '/batch', { requests: ids.slice(0, 2).map(id => ({ method: 'POST',
    path: '/parse/classes/LegalRegisterEntry', body: { objectId: id, referenceCode: 'again',
      site: { __type: 'Pointer', className: 'AuditSite', objectId: siteId } } })) }, { session: admin });
  check('a repeated id answers 137', r.status === 200 && r.json.every(x => x.error && x.error.code === 137), r.json);
  r = await call('POST', '/classes/LegalRegisterEntry', { objectId: ids[0], referenceCode: 'again' },
    { master: true });
  check('a repeated id answers 137 to the master key too', r.json.code === 137, r.json);

  // Role rules for a field worker's session.
  r = await call('PUT', `/classes/LegalRegisterEntry/${ids[0]}`, { complianceStatus: 'non_compliant' },
    { session: fred });
  check('field staff cannot change the legal register', r.status >= 400, r.json);
  const obsId = id10();
  r = await call('POST', '/classes/AuditFinding', { objectId: obsId, site: { __type: 'Pointer',
    className: 'AuditSite', objectId: siteId }, logType: 'general', severity: 'observation',
  description: 'oil drip', correctiveAction: 'tray', closed: false }, { session: fred });
  check('field staff raise an observation', r.status === 201, r.json);
  r = await call('POST', '/classes/AuditFinding', { site: { __type: 'Pointer', className: 'AuditSite',
    objectId: siteId }, logType: 'general', severity: 'major_nc', description: 'x',
  correctiveAction: 'y', closed: false }, { session: fred });
  check('field staff cannot raise a major nonconformity', r.status >= 400, r.json);
  r = await call('PUT', `/classes/AuditFinding/${obsId}`, { closed: true, verificationNote: 'ok' },
    { session: fred });
  check('field staff cannot close a finding', r.status >= 400, r.json);
  r = await call('PUT', `/classes/AuditFinding/${obsId}`, { closed: true }, { session: admin });
  check('closing without a verification note is refused', r.status >= 400 && /verificationNote/.test(r.json.error), r.json);
  r = await call('PUT', `/classes/AuditFinding/${obsId}`, { closed: true, verificationNote: 'checked' },
    { session: admin });
  check('admin closes a complete finding', r.status === 200, r.json);
  r = await call('GET', '/classes/LegalRegisterEntry');
  check('unauthenticated reads are refused', r.status >= 400 || (r.json.results || []).length === 0, r.json);

  // The trail is appended through appendTrail only, and append-only even for the master key.
  const evId = id10();
  r = await call('POST', '/classes/AuditTrailEvent', { objectId: evId, deviceId: 'dev1', seq: 1,
    action: 'create', prevHash: '0'.repeat(64), hash: 'a'.repeat(64) }, { session: fred });
  check('a session cannot create a trail event directly', r.status >= 400, r.json);
  r = await call('POST', '/classes/AuditTrailEvent', { objectId: evId, deviceId: 'dev1', seq: 1,
    action: 'create', prevHash: '0'.repeat(64), hash: 'a'.repeat(64) }, { master: true });
  check('the master key can load history recorded before the upgrade', r.status === 201, r.json);
  r = await call('PUT', `/classes/AuditTrailEvent/${evId}`, { action: 'delete' }, { master: true });
  check('master key cannot change a trail event', r.status >= 400, r.json);
  r = await call('DELETE', `/classes/AuditTrailEvent/${evId}`, null, { master: true });
  check('master key cannot delete a trail event', r.status >= 400, r.json);

  // GraphQL beside REST.
  const gql = await fetch(BASE.replace(/\/parse$/, '/graphql'), {
    method: 'POST',
    headers: { 'X-Parse-Application-Id': APP_ID, 'X-Parse-Session-Token': admin,
      'Content-Type': 'application/json' },
    body: JSON.stringify({ query: '{ health }' }),
  });
  const gqlJson = await gql.json().catch(() => null);
  check('GraphQL answers at /graphql', gql.status === 200 && gqlJson && gqlJson.data &&
    gqlJson.data.health === true, gqlJson);

  const rss = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  console.log(`parse server resident memory: ${rss ? Math.round(rss[1] / 1024) : '?'} MB`);
  if (!keep) server('stop');
  console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
  process.exit(failures ? 1 : 0);
}

main().catch(err => {
  console.error(err);
  if (!keep) try { server('stop'); } catch { /* already down */ }
  process.exit(1);
});
