'use strict';
// Request rate limits (Parse Server's `rateLimit` option), counted in Redis so that every
// server process of a deployment shares them. They stop floods; guessing passwords is
// stopped by the per-username lockout (cloud/lockout.js). The figures leave room for a
// team: 20 laptops syncing at once from one office address, each retrying through a
// flaky network, and a sync of thousands of records with their photos (README.md,
// "Rate limits"). A window is short, so a client that does hit a limit gets through
// again within its retry budget (the sync retries a 429 with backoff).

const MINUTE = 60 * 1000;

// Each limit counts in its own Redis database: the Redis store keys its counters by
// client address alone, so two limits sharing a database would share one counter.
const LIMITS = [
  // Sign-in: a sync signs in once (a laptop-made account's first sync three times).
  { name: 'login', requestPath: '/login', requestMethods: ['GET', 'POST'],
    requestTimeWindow: MINUTE, requestCount: 300, zone: 'ip' },
  { name: 'verifyPassword', requestPath: '/verifyPassword', requestMethods: ['GET', 'POST'],
    requestTimeWindow: MINUTE, requestCount: 300, zone: 'ip' },
  // The first login of a laptop-made account: an argon2id check of 64 MiB each.
  { name: 'firstLogin', requestPath: '/functions/firstLogin',
    requestTimeWindow: MINUTE, requestCount: 60, zone: 'ip' },
  // Photo uploads: once per photo and site, before the records that point at them.
  { name: 'uploadsPerUser', requestPath: '/files/*name', requestMethods: ['POST'],
    requestTimeWindow: MINUTE, requestCount: 600, zone: 'user' },
  { name: 'uploadsPerAddress', requestPath: '/files/*name', requestMethods: ['POST'],
    requestTimeWindow: MINUTE, requestCount: 1200, zone: 'ip' },
  // GraphQL (not used by the laptops; its logIn and callCloudCode reach the same checks).
  { name: 'graphql', requestPath: '/', requestMethods: ['POST', 'GET'],
    requestTimeWindow: MINUTE, requestCount: 600, zone: 'ip' },
];

function rateLimits(redisUrl) {
  return LIMITS.map((limit, i) => {
    const { name, ...options } = limit;
    return {
      ...options,
      // Count loopback clients too: this server listens on 127.0.0.1 only, behind a
      // reverse proxy when it is reached from elsewhere.
      includeInternalRequests: true,
      errorResponseMessage: 'Too many requests.',
      ...(redisUrl ? { redisUrl: `${redisUrl.replace(/\/\d*$/, '')}/${i + 1}` } : {}),
    };
  });
}

module.exports = { LIMITS, rateLimits };
