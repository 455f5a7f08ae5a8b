"""Passwords as argon2id verifiers, and logging in with a growing delay after failures."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from desktop_audit import clock
from desktop_audit.domain import keys, trail
from desktop_audit.domain.actor import Actor
from desktop_audit.errors import AuthError, ValidationError
from desktop_audit.schema import USER
from desktop_audit.store import journal, rows

if TYPE_CHECKING:
    from desktop_audit.store.db import Database

# argon2-cffi's defaults are RFC 9106's second recommendation (argon2id, t=3, m=64 MiB, p=4);
# the server's Cloud Code verifies the same string with hash-wasm.
_hasher = PasswordHasher()
MIN_PASSWORD = 8
# After the n-th consecutive failure the next attempt must wait DELAYS[n-1] seconds.
DELAYS = (1, 2, 4, 8, 16, 30, 60, 120, 300)


def kdf_params() -> tuple[int, int, int]:
    """(time cost, memory cost in KiB, parallelism) of argon2id here: the passwords'
    verifiers and the keys that seal a user's trail key use the same costs."""
    return _hasher.time_cost, _hasher.memory_cost, _hasher.parallelism


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _hasher.hash(password)


def hash_password_unchecked(password: str) -> str:
    """A verifier of a password someone else already accepted (the server, at an online
    login): no strength rule is applied again."""
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError("password", f"must be at least {MIN_PASSWORD} characters long")
    if password.strip() != password:
        raise ValidationError("password", "must not start or end with a space")


def verify_password(verifier: str | None, password: str) -> bool:
    if not verifier:
        return False
    try:
        return _hasher.verify(verifier, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def actor_from_row(row: dict, signer: keys.Signer | None = None) -> Actor:
    return Actor(id=row["objectId"], username=row["username"], role=row["role"],
                 site_ids=frozenset(row.get("sites") or ()), full_name=row.get("fullName") or "",
                 signer=signer)


def _recent_failures(db: Database, username: str) -> tuple[int, str | None]:
    """Consecutive failed logins for *username* on this device, and when the last was."""
    attempts = journal.recent_logins(db, trail.chain_of(db.device_id, None), username,
                                     len(DELAYS) + 1)
    count = 0
    for action, _at in attempts:
        if action != "login_failed":
            break
        count += 1
    return count, (attempts[0][1] if count else None)


def wait_seconds(db: Database, username: str) -> float:
    """How long *username* must wait before the next attempt (0 when they may try now)."""
    failures, last = _recent_failures(db, username)
    if not failures or last is None:
        return 0.0
    delay = DELAYS[min(failures, len(DELAYS)) - 1]
    ready = clock.parse_iso(last) + timedelta(seconds=delay)
    return max(0.0, (ready - clock.now()).total_seconds())


def login(db: Database, username: str, password: str) -> Actor:
    """Check a password against the local verifier; journal success and failure alike.  The
    actor comes back signed in: their trail key here unsealed (made at their first sign-in
    on this laptop)."""
    username = (username or "").strip()
    wait = wait_seconds(db, username)
    if wait > 0:
        with db.atomic():
            trail.append(db, None, trail.Entry("login_failed", "User", None, None,
                                               {"reason": ["", "too soon after a failure"]}),
                         actor_name=username)
        raise AuthError(f"too many failed logins for {username!r}; try again in "
                        f"{int(wait + 0.999)} s")
    found = rows.first(db, USER, {"username": username})
    row = found is not None
    ok = False
    user: dict = found or {}
    if found is not None:
        ok = bool(user["active"]) and verify_password(user["passwordVerifier"], password)
    with db.atomic():
        if ok:
            actor = actor_from_row(user, keys.sign_in(db, user["objectId"], password))
            trail.append(db, actor, trail.Entry("login", "User", actor.id))
            return actor
        trail.append(db, None, trail.Entry("login_failed", "User",
                                           user.get("objectId"), None),
                     actor_name=username)
    if row and not user["active"]:
        raise AuthError(f"user {username!r} is deactivated")
    raise AuthError("wrong username or password")
