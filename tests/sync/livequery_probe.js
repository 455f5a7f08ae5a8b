'use strict';
// Subscribes with the official Parse JS SDK's LiveQuery client (the `parse` package pinned
// in resources/parse_server/package.json) and prints, one JSON line each, what every
// subscription hears: subscribed, error, or an event with its object and original.
// Started by tests/sync/test_hostile_livequery.py:
//   node livequery_probe.js SPEC.json      (PARSE_SERVER_DIR: where node_modules is)
// SPEC: {appId, serverURL, wsURL, subscriptions: [{id, token, className, where}]}.
// It runs until its standard input is closed.

const fs = require('fs');
const readline = require('readline');

const Parse = require(require.resolve('parse/node', { paths: [process.env.PARSE_SERVER_DIR] }));

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
Parse.initialize(spec.appId);
Parse.serverURL = spec.serverURL;
Parse.Object.disableSingleInstance(); // each event's object as it came, not merged

const out = line => process.stdout.write(`${JSON.stringify(line)}\n`);
const clients = new Map();

function clientFor(token) {
  const key = token || '';
  if (!clients.has(key)) {
    const client = new Parse.LiveQueryClient({
      applicationId: spec.appId,
      serverURL: spec.wsURL,
      sessionToken: token || undefined,
    });
    client.on('error', error => out({ op: 'client-error', token: key, error: String(error) }));
    client.open();
    clients.set(key, client);
  }
  return clients.get(key);
}

for (const s of spec.subscriptions) {
  const query = Parse.Query.fromJSON(s.className, { className: s.className, where: s.where });
  const subscription = clientFor(s.token).subscribe(query, s.token || undefined);
  // A refused subscription rejects this promise and emits 'error' (reported below).
  if (subscription.subscribePromise) subscription.subscribePromise.catch(() => undefined);
  subscription.on('open', () => out({ id: s.id, op: 'subscribed' }));
  subscription.on('error', error => out({ id: s.id, op: 'error', error: String(error) }));
  for (const op of ['create', 'update', 'enter', 'leave', 'delete']) {
    subscription.on(op, (object, original) => out({
      id: s.id,
      op,
      object: object.toJSON(),
      original: original && typeof original.toJSON === 'function' ? original.toJSON() : null,
    }));
  }
}

readline.createInterface({ input: process.stdin }).on('close', () => {
  for (const client of clients.values()) client.close();
  process.exit(0);
});
