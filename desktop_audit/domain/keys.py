"""Who signs the audit trail: each user's Ed25519 key on this laptop, and the laptop's own.

* A user gets a key pair on a laptop at their first sign-in there.  Its private key is kept
  sealed (AES-GCM) with a key derived from their password (argon2id), so a colleague who
  shares the laptop cannot sign as them; it is unsealed at sign-in and travels with the
  signed-in ``Actor`` (``actor.signer``), and sealed again when they change their password.
* The same argon2id derivation gives the user's *password key*, the same on every laptop for
  the same password: it signs each new key's statement (``passProof``), so the server can
  tell a key made where the user really typed their password from one made up by somebody
  else.  The server learns a user's password key from their own online sign-in.
* The laptop's *device key* signs only events without an actor (a failed sign-in) and
  certifies the user keys made here.  The laptop's device id is derived from it, so nobody
  else can present keys for this laptop.

What is signed, and how, is in ``head_message`` and ``statement``; the same text is checked
by the server's Cloud Code (``cloud/trail.js``).
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.errors import AuthError
from desktop_audit.store import codec, keyring

if TYPE_CHECKING:
    from desktop_audit.store.db import Database

VERSION = 1


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def key_id_of(public_raw: bytes) -> str:
    """A key's id: the first 128 bits of the SHA-256 of its raw public key, in hex."""
    return hashlib.sha256(public_raw).hexdigest()[:32]


def device_id_of(public_raw: bytes) -> str:
    """A laptop's device id: the first 64 bits of its device key's id."""
    return key_id_of(public_raw)[:16]


def statement(key_id: str, user: str | None, device_id: str, public_key: str,
              legacy: dict[str, Any] | None = None) -> str:
    """What a key's certificate signs: the key, whose it is and on which laptop; for a
    device key, the chain it recorded before the upgrade and that chain's head."""
    body: dict[str, Any] = {"v": VERSION, "keyId": key_id, "user": user, "deviceId": device_id,
                            "publicKey": public_key}
    if user is None:
        body["legacy"] = legacy
    return str(codec.dumps(body))


def head_message(chain: str, seq: int, digest: str, actor: str | None, at: str,
                 key_id: str) -> bytes:
    """What a signature on a chain's head covers (canonical JSON, UTF-8)."""
    return str(codec.dumps({"v": VERSION, "chain": chain, "seq": seq, "hash": digest,
                            "actor": actor, "at": at, "keyId": key_id})).encode("utf-8")


def _ed25519() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519


def _raw_public(private: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(private.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw))


def _raw_private(private: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(private.private_bytes(serialization.Encoding.Raw,
                                       serialization.PrivateFormat.Raw,
                                       serialization.NoEncryption()))


def verify_signature(public_key: str, message: bytes, signature: str) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        key = _ed25519().Ed25519PublicKey.from_public_bytes(unb64(public_key))
        key.verify(unb64(signature), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True, eq=False)
class Signer:
    """A private key in memory, ready to sign (never stored like this)."""

    key_id: str
    user_id: str | None  # None: the laptop's device key
    device_id: str
    private: Any
    pass_public: str | None = None  # the user's password key (sent at an online sign-in)

    def sign(self, message: bytes) -> str:
        return b64(self.private.sign(message))

    def __repr__(self) -> str:
        return f"Signer({self.key_id}, user={self.user_id})"


# ---------------------------------------------------------------- the laptop's device key


def make_device_key(db: Database, legacy: dict[str, Any] | None) -> str:
    """Make this laptop's device key (the caller holds the write transaction); returns the
    device id derived from it.  *legacy*: the chain this laptop recorded before the upgrade
    and its head ({chain, seq, hash}), which the device key's statement names."""
    private = _ed25519().Ed25519PrivateKey.generate()
    raw = _raw_public(private)
    key_id = key_id_of(raw)
    device_id = device_id_of(raw)
    text = statement(key_id, None, device_id, b64(raw), legacy)
    keyring.add_key(db, keyring.KeyRow(
        key_id, None, device_id, b64(raw), text, b64(private.sign(text.encode("utf-8"))), None,
        clock.now_iso(), None, None, None, True))
    keyring.set_secret(db, key_id, sealed=None, plain=b64(_raw_private(private)), params=None)
    return device_id


def device_signer(db: Database) -> Signer:
    """This laptop's device key (it signs only events without an actor)."""
    device = db.device_id
    cached = db.attached.get("trail.device_signer")
    if isinstance(cached, Signer) and cached.device_id == device:
        return cached
    row = keyring.device_key(db, device)
    found = keyring.secret(db, row.key_id) if row else None
    if row is None or found is None or not found[1]:
        from desktop_audit.errors import IntegrityError

        raise IntegrityError(f"this laptop's device key is missing from {db.path}")
    signer = Signer(row.key_id, None, device,
                    _ed25519().Ed25519PrivateKey.from_private_bytes(unb64(found[1])))
    db.attached["trail.device_signer"] = signer
    return signer


# ---------------------------------------------------------------- users' keys


def _params() -> dict[str, int]:
    from desktop_audit.domain import auth

    t, m, p = auth.kdf_params()
    return {"t": t, "m": m, "p": p}


def _derive(password: str, user_id: str, params: dict[str, int]) -> tuple[bytes, Any]:
    """(AES key that seals the user's private keys, the user's password key) from one
    argon2id derivation of their password."""
    from argon2.low_level import Type, hash_secret_raw

    salt = hashlib.sha256(b"desktop-audit trail key\x00" + user_id.encode("utf-8")).digest()[:16]
    material = hash_secret_raw(password.encode("utf-8"), salt, time_cost=params["t"],
                               memory_cost=params["m"], parallelism=params["p"], hash_len=64,
                               type=Type.ID)
    return material[:32], _ed25519().Ed25519PrivateKey.from_private_bytes(material[32:])


def _seal(aes_key: bytes, key_id: str, private: Any) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    return b64(nonce + AESGCM(aes_key).encrypt(nonce, _raw_private(private),
                                               key_id.encode("ascii")))


def _unseal(aes_key: bytes, key_id: str, sealed: str) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    data = unb64(sealed)
    raw = AESGCM(aes_key).decrypt(data[:12], data[12:], key_id.encode("ascii"))
    return _ed25519().Ed25519PrivateKey.from_private_bytes(raw)


def sign_in(db: Database, user_id: str, password: str) -> Signer:
    """The signer of a user who just proved their password on this laptop: their key here,
    unsealed; made now at their first sign-in here (or when the key here was sealed with a
    password that is no longer theirs).  The caller holds the write transaction."""
    params = _params()
    aes_key, pass_key = _derive(password, user_id, params)
    pass_public = b64(_raw_public(pass_key))
    device = db.device_id
    row = keyring.user_key(db, user_id, device)
    if row is not None:
        found = keyring.secret(db, row.key_id)
        if found is not None and found[0]:
            stored = codec.loads(found[2]) if found[2] else params
            key = aes_key if stored == params else _derive(password, user_id, stored)[0]
            try:
                private = _unseal(key, row.key_id, found[0])
            except Exception:  # noqa: BLE001 - sealed with another password: a new key
                private = None
            if private is not None:
                return Signer(row.key_id, user_id, device, private, pass_public)
    private = _ed25519().Ed25519PrivateKey.generate()
    raw = _raw_public(private)
    key_id = key_id_of(raw)
    text = statement(key_id, user_id, device, b64(raw))
    certificate = device_signer(db).sign(text.encode("utf-8"))
    proof = b64(pass_key.sign(text.encode("utf-8")))
    keyring.add_key(db, keyring.KeyRow(key_id, user_id, device, b64(raw), text, certificate,
                                       proof, clock.now_iso(), None, None, None, True))
    keyring.set_secret(db, key_id, sealed=_seal(aes_key, key_id, private), plain=None,
                       params=codec.dumps(params))
    return Signer(key_id, user_id, device, private, pass_public)


def reseal(db: Database, signer: Signer, password: str) -> Signer:
    """After the user changed their own password: their key sealed with the new one."""
    assert signer.user_id is not None
    params = _params()
    aes_key, pass_key = _derive(password, signer.user_id, params)
    keyring.set_secret(db, signer.key_id, sealed=_seal(aes_key, signer.key_id, signer.private),
                       plain=None, params=codec.dumps(params))
    return Signer(signer.key_id, signer.user_id, signer.device_id, signer.private,
                  b64(_raw_public(pass_key)))


def forget(db: Database, user_id: str) -> None:
    """Someone else set this user's password: the key here can no longer be unsealed by
    them; their next sign-in here makes a new one."""
    keyring.forget_secrets(db, user_id)


def require(signer: Signer | None, actor_id: str) -> Signer:
    if signer is None or signer.user_id != actor_id:
        raise AuthError("this action must be signed: sign in on this laptop first")
    return signer
