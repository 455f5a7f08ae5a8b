"""The trail's keys on this laptop: public keys (made here or pulled from the server), the
private keys made here (sealed), what the server said about chains recorded before the
upgrade, and pulled events held back.  The cryptography is in ``domain/keys.py``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from desktop_audit.store.db import Database


@dataclass(frozen=True)
class KeyRow:
    key_id: str
    user: str | None
    device_id: str
    public_key: str  # base64 of the raw 32-byte Ed25519 public key
    statement: str  # the canonical JSON the certificate signs
    certificate: str  # device key over a user key's statement; a device key over its own
    pass_proof: str | None  # the user's password key over the statement (made here)
    created_at: str
    registered_at: str | None
    registered_by: str | None
    revoked_at: str | None
    made: bool  # made on this laptop

    @property
    def is_device(self) -> bool:
        return self.user is None


_KEY_COLS = ('"keyId", "user", "deviceId", "publicKey", "statement", "certificate", '
             '"passProof", "createdAt", "registeredAt", "registeredBy", "revokedAt", "made"')


def _key(row: Sequence[Any]) -> KeyRow:
    return KeyRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8],
                  row[9], row[10], bool(row[11]))


def add_key(db: Database, key: KeyRow) -> None:
    db.handle.execute_sql(
        f'INSERT INTO trail_key ({_KEY_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        (key.key_id, key.user, key.device_id, key.public_key, key.statement, key.certificate,
         key.pass_proof, key.created_at, key.registered_at, key.registered_by,
         key.revoked_at, int(key.made)))


def keys(db: Database) -> list[KeyRow]:
    return [_key(r) for r in db.handle.execute_sql(
        f'SELECT {_KEY_COLS} FROM trail_key ORDER BY "createdAt", "keyId"').fetchall()]


def key(db: Database, key_id: str) -> KeyRow | None:
    row = db.handle.execute_sql(f'SELECT {_KEY_COLS} FROM trail_key WHERE "keyId" = ?',
                                (key_id,)).fetchone()
    return _key(row) if row else None


def user_key(db: Database, user_id: str, device_id: str) -> KeyRow | None:
    """The newest key of a user made on this laptop that still has its private key here."""
    row = db.handle.execute_sql(
        f'SELECT {", ".join("k." + c.strip() for c in _KEY_COLS.split(","))} FROM trail_key k '
        'JOIN trail_secret s ON s."keyId" = k."keyId" WHERE k."user" = ? AND k."deviceId" = ? '
        'ORDER BY k."createdAt" DESC LIMIT 1', (user_id, device_id)).fetchone()
    return _key(row) if row else None


def device_key(db: Database, device_id: str) -> KeyRow | None:
    row = db.handle.execute_sql(
        f'SELECT {_KEY_COLS} FROM trail_key WHERE "user" IS NULL AND "deviceId" = ? '
        'ORDER BY "createdAt" LIMIT 1', (device_id,)).fetchone()
    return _key(row) if row else None


def unregistered(db: Database) -> list[KeyRow]:
    """Keys made here that the server has not confirmed yet (device keys first)."""
    return [_key(r) for r in db.handle.execute_sql(
        f'SELECT {_KEY_COLS} FROM trail_key WHERE "made" = 1 AND "registeredAt" IS NULL '
        'ORDER BY "user" IS NOT NULL, "createdAt"').fetchall()]


def store_remote(db: Database, rows: Iterable[KeyRow]) -> None:
    """Keys as the server has them: new ones added, known ones get the server's dates."""
    cursor = db.handle.cursor()
    for k in rows:
        cursor.execute(
            f'INSERT INTO trail_key ({_KEY_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) '
            'ON CONFLICT("keyId") DO UPDATE SET "registeredAt" = excluded."registeredAt", '
            '"registeredBy" = excluded."registeredBy", "revokedAt" = excluded."revokedAt"',
            (k.key_id, k.user, k.device_id, k.public_key, k.statement, k.certificate, None,
             k.created_at, k.registered_at, k.registered_by, k.revoked_at))


def set_secret(db: Database, key_id: str, *, sealed: str | None, plain: str | None,
               params: str | None) -> None:
    db.handle.execute_sql(
        'INSERT INTO trail_secret ("keyId", "sealed", "plain", "params") VALUES (?, ?, ?, ?) '
        'ON CONFLICT("keyId") DO UPDATE SET "sealed" = excluded."sealed", '
        '"plain" = excluded."plain", "params" = excluded."params"',
        (key_id, sealed, plain, params))


def secret(db: Database, key_id: str) -> tuple[str | None, str | None, str | None] | None:
    """(sealed, plain, params) of a private key made here, or None."""
    row = db.handle.execute_sql('SELECT "sealed", "plain", "params" FROM trail_secret '
                                'WHERE "keyId" = ?', (key_id,)).fetchone()
    return (row[0], row[1], row[2]) if row else None


def forget_secrets(db: Database, user_id: str) -> None:
    """Drop a user's private keys here (their password was reset by someone else: the
    next sign-in makes a new key)."""
    db.handle.execute_sql('DELETE FROM trail_secret WHERE "keyId" IN (SELECT "keyId" FROM '
                          'trail_key WHERE "user" = ?)', (user_id,))


# ---------------------------------------------------------------- chains recorded before v6


def legacy_verdicts(db: Database) -> dict[str, tuple[int, int | None, str | None, bool,
                                                     str | None]]:
    """{chain: (events, headSeq, headHash, verified, problem)} as the server found them."""
    return {r[0]: (int(r[1]), r[2], r[3], bool(r[4]), r[5]) for r in db.handle.execute_sql(
        'SELECT "chain", "events", "headSeq", "headHash", "verified", "problem" '
        'FROM trail_legacy').fetchall()}


def store_legacy(db: Database, rows: Iterable[tuple[str, int, int | None, str | None, bool,
                                                    str | None, str | None]]) -> None:
    db.handle.cursor().executemany(
        'INSERT INTO trail_legacy ("chain", "events", "headSeq", "headHash", "verified", '
        '"problem", "verifiedAt") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT("chain") DO UPDATE '
        'SET "events" = excluded."events", "headSeq" = excluded."headSeq", '
        '"headHash" = excluded."headHash", "verified" = excluded."verified", '
        '"problem" = excluded."problem", "verifiedAt" = excluded."verifiedAt"',
        [(c, n, s, h, int(v), p, at) for c, n, s, h, v, p, at in rows])


# ---------------------------------------------------------------- pulled events waiting


def hold(db: Database, rows: Iterable[tuple[str, str, int, str, str | None, str]]) -> None:
    """(objectId, chain, seq, event JSON, problem, at) of pulled events not (yet) stored."""
    db.handle.cursor().executemany(
        'INSERT INTO trail_inbox ("objectId", "chain", "seq", "event", "problem", "at") '
        'VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT("objectId") DO UPDATE SET '
        '"problem" = excluded."problem"', list(rows))


def held(db: Database, chain: str | None = None) -> list[tuple[str, str, int, str, str | None]]:
    """(objectId, chain, seq, event JSON, problem) of held events, by chain and seq."""
    sql = 'SELECT "objectId", "chain", "seq", "event", "problem" FROM trail_inbox'
    params: tuple[Any, ...] = ()
    if chain is not None:
        sql += ' WHERE "chain" = ?'
        params = (chain,)
    return [(r[0], r[1], int(r[2]), r[3], r[4]) for r in db.handle.execute_sql(
        sql + ' ORDER BY "chain", "seq", "objectId"', params).fetchall()]


def held_ids(db: Database, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        part = list(ids[i:i + 500])
        marks = ", ".join("?" for _ in part)
        found.update(r[0] for r in db.handle.execute_sql(
            f'SELECT "objectId" FROM trail_inbox WHERE "objectId" IN ({marks})', part))
    return found


def release_held(db: Database, ids: Iterable[str]) -> None:
    db.handle.cursor().executemany('DELETE FROM trail_inbox WHERE "objectId" = ?',
                                   [(i,) for i in ids])


def held_count(db: Database) -> int:
    return int(db.handle.execute_sql('SELECT COUNT(*) FROM trail_inbox').fetchone()[0])


def usernames(db: Database) -> dict[str, str]:
    """objectId -> username of every user this laptop holds (to name a key's user)."""
    return {r[0]: r[1] for r in db.execute('SELECT "objectId", "username" FROM "user"')}
