'use strict';
// Parse Server for desktop_audit: PostgreSQL, files on disk, Cloud Code rules,
// GraphQL beside REST, Live Query for findings and reviews. Loopback only.
//
// Several of these processes may serve one deployment (server.sh start --instances N):
// everything one process knows that another needs is in PostgreSQL (records, schema,
// lockouts, the rulebook, the trail), in the shared file store, or in the group's Redis
// (Live Query events, the session cache, the rate limits). See README.md, "Scaling out".
const path = require('path');
const fs = require('fs');
const { ParseServer, RedisCacheAdapter } = require('parse-server');
const FileSystemAdapter = require('@parse/fs-files-adapter');

const env = process.env;
const host = env.PARSE_HOST || '127.0.0.1';
const port = Number(env.PARSE_PORT || 1337);
const mountPath = '/parse';
const stateDir = env.PARSE_STATE_DIR || path.join(__dirname, '.state');
const databaseURI = env.PARSE_DATABASE_URI || 'postgres://parse@127.0.0.1:54329/desktop_audit';
const { rateLimits } = require('./limits');
// The group's Redis. Its databases: 0 Parse Server's cache (the user of each session
// token, roles), 1-6 the rate limits (limits.js); Live Query's channels are not in a
// database.
const redisBase = env.PARSE_REDIS_URL ? env.PARSE_REDIS_URL.replace(/\/\d*$/, '') : null;
// How long a session's user (role, sites, active) may be served from the cache. Saving a
// user drops its sessions' entries at once, in Redis, so for every process of the group;
// only a read racing that save can put an older copy back, for at most this long.
const SESSION_CACHE_MS = 5000;

// The fs adapter keeps files under <cwd>/files/: run from the state dir.
fs.mkdirSync(path.join(stateDir, 'files'), { recursive: true });
process.chdir(stateDir);

const options = {
  // Safe answers: 137 only for the caller's own records, no transaction batches, no stack
  // traces from GraphQL (answers.js).
  middleware: require('./answers')({ mountPath, graphQLPath: '/graphql' }),
  databaseURI,
  appId: env.PARSE_APP_ID || 'desktop-audit-dev',
  masterKey: env.PARSE_MASTER_KEY || 'dev-master-key',
  serverURL: `http://127.0.0.1:${port}${mountPath}`,
  publicServerURL: env.PARSE_PUBLIC_URL || `http://127.0.0.1:${port}${mountPath}`,
  mountPath,
  host,
  port,
  // Loopback only: a reverse proxy on this machine (nginx, appending X-Forwarded-For) tells
  // the client's address, which the per-address rate limits and firstLogin's queue use.
  trustProxy: 'loopback',
  cloud: path.join(__dirname, 'cloud', 'main.js'),
  allowCustomObjectId: true,
  allowClientClassCreation: false,
  enableAnonymousUsers: false,
  filesAdapter: new FileSystemAdapter({ filesSubDirectory: '' }),
  fileUpload: { enableForPublic: false, enableForAnonymousUser: false, enableForAuthenticatedUser: true },
  // Downloads need a session; Cloud Code (cloud/files.js) then asks for the file's site.
  fileDownload: { enableForPublic: false, enableForAnonymousUser: false, enableForAuthenticatedUser: true },
  maxUploadSize: '20mb',
  // Failed logins are counted per username in PostgreSQL by Cloud Code (cloud/lockout.js),
  // not by Parse Server's accountLockout, whose answer tells a locked account from a
  // missing one.
  rateLimit: rateLimits(env.PARSE_REDIS_URL),
  mountGraphQL: true,
  graphQLPath: '/graphql',
  startLiveQueryServer: true,
  // With Redis, a change saved through any process reaches the subscribers of every
  // process of the group; without it (a single process), events stay in the process.
  liveQuery: { classNames: ['AuditFinding', 'AuditReview'], ...(redisBase ? { redisURL: redisBase } : {}) },
  ...(redisBase ? { liveQueryServerOptions: { redisURL: redisBase } } : {}),
  // Sessions (the user behind each token) are cached in the group's Redis, not in each
  // process: a user saved through one process (deactivated, other sites, another role)
  // is read again by all of them.
  ...(redisBase ? { cacheAdapter: new RedisCacheAdapter({ url: `${redisBase}/0` }, SESSION_CACHE_MS) } : {}),
  cacheTTL: SESSION_CACHE_MS,
  // The schema (classes, fields, class-level permissions) is cached in each process; a
  // change made through one (server-setup) is announced to the others through PostgreSQL
  // (LISTEN/NOTIFY), which reload it.
  databaseOptions: { enableSchemaHooks: true },
  verifyServerUrl: false,
  requestComplexity: { queryDepth: 10, graphQLDepth: 20, graphQLFields: 200, batchRequestLimit: 100, includeCount: 100, subqueryDepth: 10, includeDepth: 10 },
  // The argon2 verifier of a laptop-made user is readable by the master key only,
  // not even by its owner; triggers see it, save responses do not carry it.
  protectedFieldsOwnerExempt: false,
  // Colleagues see each other's email (records point at users); the verifier nobody.
  protectedFields: { _User: { '*': ['passwordVerifier'] } },
  protectedFieldsTriggerExempt: true,
  protectedFieldsSaveResponseExempt: false,
  installation: { duplicateDeviceTokenActionEnforceAuth: true },
  allowAggregationForReadOnlyMasterKey: false,
  logsFolder: path.join(stateDir, 'logs'),
  logLevel: env.PARSE_LOG_LEVEL || 'warn',
  silent: env.PARSE_SILENT === '1',
};

ParseServer.startApp(options)
  .then(() => {
    // eslint-disable-next-line no-console
    console.log(`desktop-audit parse server on http://${host}:${port}${mountPath} (graphql /graphql)`);
  })
  .catch(err => {
    // eslint-disable-next-line no-console
    console.error('parse server failed to start:', err);
    process.exit(1);
  });

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
