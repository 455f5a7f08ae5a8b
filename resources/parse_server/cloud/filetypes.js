'use strict';
// The files the record types declare (desktop_audit/records/evidence.py: photos, JPEG or
// PNG, at most 20 MB), recognised by their content, not by their name or the type the
// client claims. Plain data and pure functions: tests/unit checks them against the
// Python declaration.

const KINDS = {
  photo: {
    label: 'photo',
    maxBytes: 20 * 1024 * 1024,
    types: [
      { mime: 'image/jpeg', extensions: ['jpg', 'jpeg'], what: 'JPEG' },
      { mime: 'image/png', extensions: ['png'], what: 'PNG' },
    ],
  },
};

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// The type of *data* by its first bytes: a JPEG starts with a start-of-image marker and
// another marker; a PNG with its signature and the IHDR chunk.
function sniff(data) {
  if (!Buffer.isBuffer(data)) return null;
  if (data.length >= 4 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff &&
      data[3] >= 0xc0 && data[3] !== 0xff) {
    return 'image/jpeg';
  }
  if (data.length >= 16 && data.subarray(0, 8).equals(PNG_SIGNATURE) &&
      data.subarray(12, 16).toString('latin1') === 'IHDR') {
    return 'image/png';
  }
  return null;
}

// What is wrong with *data* as a file of *kind* (null: nothing), and its type.
function judge(kind, data) {
  const spec = KINDS[kind];
  if (data.length > spec.maxBytes) {
    return { problem: `is ${(data.length / 1e6).toFixed(1)} MB; a ${spec.label} may be at most ` +
      `${spec.maxBytes / (1024 * 1024)} MB` };
  }
  if (data.length === 0) return { problem: 'is empty' };
  const mime = sniff(data);
  const type = spec.types.find(t => t.mime === mime);
  if (!type) {
    return { problem: `is not a ${spec.types.map(t => t.what).join(' or ')} ${spec.label} ` +
      '(judged by its content)' };
  }
  return { problem: null, type };
}

module.exports = { KINDS, sniff, judge };
