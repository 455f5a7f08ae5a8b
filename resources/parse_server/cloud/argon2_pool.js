'use strict';
// Fair, bounded argon2id checks for firstLogin.
//
// An argon2id check costs 64 MiB and about half a second of one core, so checks run in
// a few worker threads (never on the event loop that answers every other request), and
// waiting checks are taken in turn per client address and, within one address, per
// username: a flood of junk calls from one address delays that address's own calls,
// not a colleague's first login from another one. One username is checked one call at
// a time. Beyond a small queue per username and per address, calls are refused at
// once, before any work (the caller answers them like a wrong password).
//
// The queues are this process's own, by design: they share out this process's CPU and
// memory. What must hold across the processes of a deployment is not here: each attempt
// is counted in PostgreSQL before it is checked (lockout.js) and calls are rate-limited in
// Redis (limits.js), so with N processes a username is at most checked N calls at a time,
// and still locked after the same number of failures.
//
// A call for an account that has no verifier (unknown, deactivated, or already signed
// in online) waits its turn too and then as long as a real check takes, without doing
// one, so the answer's timing does not tell it apart.

const os = require('os');
const path = require('path');

const WORKERS = Math.max(1, Math.min(2, os.cpus().length));
const MAX_PER_USERNAME = 4; // waiting or running
const MAX_PER_ADDRESS = 32;
const MAX_WAITING = 512;

class Busy extends Error {}

let workers = null; // [{worker, busy}] or [] when threads are not available here
let nextId = 1;
const pending = new Map(); // id -> resolve
let averageMs = 450;

function startWorkers() {
  if (workers) return workers;
  workers = [];
  try {
    const { Worker } = require('worker_threads');
    for (let i = 0; i < WORKERS; i++) {
      const worker = new Worker(path.join(__dirname, 'argon2_worker.js'));
      worker.unref();
      const slot = { worker, busy: false };
      worker.on('message', ({ id, ok }) => {
        const done = pending.get(id);
        pending.delete(id);
        if (done) done(ok);
      });
      worker.on('error', () => {
        // A worker that died answers its pending checks as failures.
        for (const [id, done] of pending) {
          pending.delete(id);
          done(false);
        }
      });
      workers.push(slot);
    }
  } catch {
    workers = [];
  }
  return workers;
}

async function verifyInline(password, hash) {
  const { argon2Verify } = require('hash-wasm');
  try {
    return await argon2Verify({ password, hash });
  } catch {
    return false;
  }
}

function verifyOn(slot, password, hash) {
  if (!slot) return verifyInline(password, hash);
  return new Promise(resolve => {
    const id = nextId++;
    pending.set(id, resolve);
    slot.worker.postMessage({ id, password, hash });
  });
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// ---------------------------------------------------------------- the fair queue

const addresses = new Map(); // address -> {queued: Map username -> [job], count}
const running = new Set(); // usernames being checked
let rotation = []; // addresses in the order they are served
let active = 0;
let waiting = 0;

function capacity() {
  const slots = startWorkers();
  return slots.length || 1;
}

function freeSlot() {
  const slots = startWorkers();
  return slots.find(s => !s.busy) || null;
}

function pick() {
  for (let i = 0; i < rotation.length; i++) {
    const address = rotation[i];
    const entry = addresses.get(address);
    for (const [username, jobs] of entry.queued) {
      if (!jobs.length || running.has(username)) continue;
      const job = jobs.shift();
      if (!jobs.length) entry.queued.delete(username);
      // This address goes to the back of the line.
      rotation.splice(i, 1);
      rotation.push(address);
      return job;
    }
  }
  return null;
}

function pump() {
  while (active < capacity()) {
    const job = pick();
    if (!job) return;
    waiting--;
    active++;
    running.add(job.username);
    const slot = freeSlot();
    if (slot) slot.busy = true;
    run(job, slot).finally(() => {
      if (slot) slot.busy = false;
      active--;
      running.delete(job.username);
      const entry = addresses.get(job.address);
      entry.count--;
      if (entry.count === 0) {
        addresses.delete(job.address);
        rotation = rotation.filter(a => a !== job.address);
      }
      pump();
    });
  }
}

async function run(job, slot) {
  const started = Date.now();
  try {
    if (job.hash) {
      const ok = await verifyOn(slot, job.password, job.hash);
      const took = Date.now() - started;
      averageMs = averageMs * 0.8 + took * 0.2;
      job.resolve(ok);
    } else {
      await sleep(averageMs);
      job.resolve(false);
    }
  } catch {
    job.resolve(false);
  }
}

// Check *password* against *hash* (null: no account to check) for a call from *address*
// about *username*. Resolves true or false; rejects with Busy when the queues are full.
function verify({ address, username, password, hash }) {
  address = address || '-';
  let entry = addresses.get(address);
  const perUser = entry && entry.queued.get(username);
  const userCount = (perUser ? perUser.length : 0) + (running.has(username) ? 1 : 0);
  if ((entry && entry.count >= MAX_PER_ADDRESS) || userCount >= MAX_PER_USERNAME ||
      waiting >= MAX_WAITING) {
    return Promise.reject(new Busy('too many checks waiting'));
  }
  if (!entry) {
    entry = { queued: new Map(), count: 0 };
    addresses.set(address, entry);
    rotation.push(address);
  }
  return new Promise(resolve => {
    const jobs = entry.queued.get(username) || [];
    jobs.push({ address, username, password, hash, resolve });
    entry.queued.set(username, jobs);
    entry.count++;
    waiting++;
    pump();
  });
}

module.exports = { verify, Busy, WORKERS, MAX_PER_USERNAME, MAX_PER_ADDRESS };
