'use strict';
// Files: uploads, downloads, and the file an Evidence record points at.
//
// * An upload is a photo for one site: its name is `SITEID-SHA256.jpg` (or `.png`), the
//   uploader must be assigned to that site, the content must be a JPEG or PNG of at
//   most 20 MB (filetypes.js) whose SHA-256 is the one in the name. What was stored is
//   recorded in the class StoredFile (master key only): its name, site, SHA-256, type
//   and size, as the server computed them from the content.
// * A download needs a session assigned to the site the file was uploaded for, or to
//   the site of an Evidence that points at it (an administrator: any).
// * checkEvidenceFile(req, actor): an Evidence may point only at a file uploaded for its
//   own site (or one an Evidence of its site already points at), and its sha256,
//   mimeType and byteSize must be the stored file's. Parse Server allows one beforeSave
//   per class, and the records' rules own Evidence's: their beforeSave calls this.

const crypto = require('crypto');

const { E, invalid, actorOf, isAdmin, pointerId, newObjectId, TOMBSTONE } = require('./common');
const { KINDS, judge } = require('./filetypes');

const STORED = 'StoredFile';
const UPLOAD_NAME = /^([A-Za-z0-9]{1,32})-([0-9a-f]{64})\.([A-Za-z]{3,4})$/;
const NOT_FOUND = 'File not found.';

// Facts of an upload computed in beforeSave, recorded in afterSave (same file object).
const pendingFacts = new WeakMap();

function refuse(message) {
  return invalid('file', message);
}

function fileData(file) {
  if (file._source && file._source.format === 'buffer' && Buffer.isBuffer(file._source.buffer)) {
    return file._source.buffer;
  }
  return Buffer.from(file._data || '', 'base64');
}

Parse.Cloud.beforeSave(Parse.File, async req => {
  if (req.master) return;
  const actor = await actorOf(req); // a session of an active account
  if (req.stream) {
    throw refuse('send the photo in one request (streamed uploads are not accepted)');
  }
  const name = req.file.name();
  const m = UPLOAD_NAME.exec(name || '');
  if (!m) {
    throw refuse('a photo is uploaded as SITEID-SHA256.jpg or SITEID-SHA256.png');
  }
  const [, site, sha, extension] = m;
  if (!isAdmin(actor) && !actor.sites.has(site)) {
    throw refuse('you may add photos only to the sites you are assigned to');
  }
  const data = fileData(req.file);
  const { problem, type } = judge('photo', data);
  if (problem) throw refuse(`this file ${problem}`);
  if (!type.extensions.includes(extension.toLowerCase())) {
    throw refuse(`this file is a ${type.what} photo; its name must end in .${type.extensions[0]}`);
  }
  if (crypto.createHash('sha256').update(data).digest('hex') !== sha) {
    throw refuse('the content does not match the SHA-256 in its name');
  }
  req.file.setMetadata({});
  req.file.setTags({});
  pendingFacts.set(req.file, {
    site, sha256: sha, mimeType: type.mime, byteSize: data.length, uploadedBy: actor.id,
  });
});

Parse.Cloud.afterSave(Parse.File, async req => {
  const facts = pendingFacts.get(req.file);
  if (!facts) return;
  pendingFacts.delete(req.file);
  const stored = new Parse.Object(STORED);
  stored.id = newObjectId(); // the server takes client objectIds only
  stored.set({ name: req.file.name(), kind: 'photo', ...facts });
  await stored.save(null, { useMasterKey: true });
});

// StoredFile is the server's own record: closed to every session (CLP too, by
// server-setup).
for (const trigger of ['beforeSave', 'beforeDelete', 'beforeFind']) {
  Parse.Cloud[trigger](STORED, req => {
    if (!req.master) throw new E(E.OPERATION_FORBIDDEN, 'Permission denied.');
  });
}

async function storedFile(name) {
  return new Parse.Query(STORED).equalTo('name', name).first({ useMasterKey: true });
}

function filePointer(name) {
  return { __type: 'File', name };
}

// Whether a live Evidence of one of *siteIds* points at the file (other than *exceptId*).
async function referencedBy(name, siteIds, exceptId) {
  if (!siteIds.length) return false;
  const q = new Parse.Query('Evidence');
  q._addCondition('file', '$eq', filePointer(name));
  q.containedIn('site', siteIds.map(id => ({ __type: 'Pointer', className: 'AuditSite', objectId: id })));
  q.doesNotExist(TOMBSTONE);
  if (exceptId) q.notEqualTo('objectId', exceptId);
  return Boolean(await q.first({ useMasterKey: true }));
}

// A file stored before uploads were recorded: its facts from its content.
async function legacyFacts(name) {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) || name.includes('..')) return null;
  let data;
  try {
    const Config = require('parse-server/lib/Config');
    const config = Config.get(Parse.applicationId);
    data = await config.filesController.getFileData(config, name);
  } catch {
    return null;
  }
  if (!data) return null;
  const { problem, type } = judge('photo', data);
  if (problem) return null;
  return {
    site: null,
    sha256: crypto.createHash('sha256').update(data).digest('hex'),
    mimeType: type.mime,
    byteSize: data.length,
  };
}

Parse.Cloud.beforeFind(Parse.File, async req => {
  if (req.master) return;
  let actor;
  try {
    actor = await actorOf(req);
  } catch {
    throw new E(E.OBJECT_NOT_FOUND, NOT_FOUND);
  }
  if (isAdmin(actor)) return;
  const name = req.file && req.file.name();
  if (!name) throw new E(E.OBJECT_NOT_FOUND, NOT_FOUND);
  const stored = await storedFile(name);
  if (stored && actor.sites.has(stored.get('site'))) return;
  if (await referencedBy(name, [...actor.sites], null)) return;
  // Another site's file and no file at all get the same answer.
  throw new E(E.OBJECT_NOT_FOUND, NOT_FOUND);
});

const EVIDENCE_FILE_FIELDS = ['file', 'sha256', 'mimeType', 'byteSize', 'site'];

function fileName(value) {
  if (!value) return null;
  if (typeof value.name === 'function') return value.name();
  return value.name || null;
}

// The file checks of an Evidence write (create or update), for the records' beforeSave.
// *actor* is common.actorOf(req); the master key passes.
async function checkEvidenceFile(req, actor) {
  if (req.master || (actor && actor.master)) return;
  const obj = req.object;
  const name = fileName(obj.get('file'));
  const site = pointerId(obj.get('site'));
  if (req.original) {
    const same = EVIDENCE_FILE_FIELDS.every(f => {
      const a = f === 'file' ? fileName(obj.get(f)) : obj.get(f);
      const b = f === 'file' ? fileName(req.original.get(f)) : req.original.get(f);
      return JSON.stringify(a === undefined ? null : a) === JSON.stringify(b === undefined ? null : b);
    });
    if (same) return; // a caption or date: the file was checked when it was set
  }
  if (!name) return; // no file yet: whether one is required is the records' rule
  const stored = await storedFile(name);
  const facts = stored
    ? { site: stored.get('site'), sha256: stored.get('sha256'), mimeType: stored.get('mimeType'),
      byteSize: stored.get('byteSize') }
    : await legacyFacts(name);
  const already = req.original && fileName(req.original.get('file')) === name &&
    pointerId(req.original.get('site')) === site;
  const ofSite = facts && (facts.site === site || already ||
    await referencedBy(name, site ? [site] : [], obj.id));
  if (!ofSite) {
    // A file of another site and no file at all get the same answer.
    throw invalid('file', 'no such photo on the site of this record; upload it for this site');
  }
  if (obj.get('sha256') !== facts.sha256) {
    throw invalid('sha256', 'is not the SHA-256 of the stored file');
  }
  if (obj.get('mimeType') !== facts.mimeType) {
    throw invalid('mimeType', `the stored file is ${facts.mimeType}`);
  }
  const size = obj.get('byteSize');
  if (size !== undefined && size !== null && size !== facts.byteSize) {
    throw invalid('byteSize', `the stored file has ${facts.byteSize} bytes`);
  }
}

// A File in a write sent without its url (a hand-made request) reaches the triggers as an
// unsaved Parse.File, which Parse Server's trigger logging cannot encode: the exception is
// thrown outside the request and the process stops. Every File of a write gets the url of
// its name (as Parse Server gives it on every read; only the name is stored) before the
// triggers run, so no such request can stop the server.
function installFileUrlExpansion() {
  let RestWrite;
  try {
    RestWrite = require('parse-server/lib/RestWrite');
  } catch {
    return false;
  }
  const proto = RestWrite && RestWrite.prototype;
  if (!proto || typeof proto.runBeforeSaveTrigger !== 'function') return false;
  if (proto.runBeforeSaveTrigger.filesExpanded) return true;
  const original = proto.runBeforeSaveTrigger;
  const expanded = async function () {
    if (this.data && typeof this.data === 'object') {
      await this.config.filesController.expandFilesInObject(this.config, this.data);
    }
    return original.call(this);
  };
  expanded.filesExpanded = true;
  proto.runBeforeSaveTrigger = expanded;
  return true;
}

const filesExpanded = installFileUrlExpansion();

module.exports = { checkEvidenceFile, filesExpanded, STORED, UPLOAD_NAME, KINDS };
