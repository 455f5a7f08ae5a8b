'use strict';
// Checks argon2id verifiers off the server's event loop (see argon2_pool.js).
const { parentPort } = require('worker_threads');
const { argon2Verify } = require('hash-wasm');

parentPort.on('message', async ({ id, password, hash }) => {
  let ok = false;
  try {
    ok = await argon2Verify({ password, hash });
  } catch {
    ok = false;
  }
  parentPort.postMessage({ id, ok });
});
