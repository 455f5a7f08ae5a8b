"""Signing in to the server and running a sync, as the CLI and the app do it.

A user made on a laptop has no usable server password until their first online
login: the server's Cloud Code (``firstLogin``) checks the password they type
against the argon2id verifier their laptop made, and makes it their server
password.  After an online login on a laptop, the user can log in offline there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_audit.errors import AuthError, SyncError
from desktop_audit.jobs import Control
from desktop_audit.sync.engine import SyncEngine, SyncReport
from desktop_audit.sync.parse_client import (
    OBJECT_NOT_FOUND,
    ParseClient,
    ParseError,
    Retrier,
    TransientError,
)

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.domain.keys import Signer
    from desktop_audit.store.db import Database

DEFAULT_APP_ID = "desktop-audit-dev"


def make_client(server: str, app_id: str, *, key_env: str | None = None,
                master_key: str | None = None, timeout: float = 30.0) -> ParseClient:
    key = None
    if key_env:
        key = os.environ.get(key_env)
        if not key:
            raise SyncError(f"--key-env names {key_env}, but it is not set")
    try:
        return ParseClient(server, app_id, client_key=key, master_key=master_key,
                           timeout=timeout)
    except ValueError as exc:
        raise SyncError(str(exc)) from exc


def online_login(client: ParseClient, username: str, password: str, *,
                 budget: float = 60.0) -> dict[str, Any]:
    """POST /login; for an account still waiting for its first login, firstLogin first."""
    retry = Retrier(budget)
    try:
        try:
            return retry(lambda: client.login(username, password))
        except ParseError as exc:
            if exc.code != OBJECT_NOT_FOUND:
                raise
        tried = retry.retries
        try:
            retry(lambda: client.call("firstLogin", {"username": username,
                                                     "password": password}))
        except ParseError as exc:
            if exc.code not in (OBJECT_NOT_FOUND, 141):
                raise
            if retry.retries == tried:
                raise AuthError("the server refused the login: wrong username or "
                                "password") from None
            # A first login sent again after its answer was lost finds the password
            # already made the server's: sign in with it.
            try:
                return retry(lambda: client.login(username, password))
            except ParseError:
                raise AuthError("the server refused the login: wrong username or "
                                "password") from None
        return retry(lambda: client.login(username, password))
    except TransientError as exc:
        raise SyncError(f"cannot reach the server at {client.server_url}: {exc}") from exc
    except ParseError as exc:
        raise SyncError(f"the server refused the login: {exc.message}") from exc


def remember_password(db: Database, user_id: str, password: str) -> Signer:
    """Keep an argon2id verifier so this user can log in here offline from now on; their
    trail key here, unsealed (made now at their first sign-in on this laptop)."""
    from desktop_audit.services.users import remember_password as remember

    return remember(db, user_id, password)


def learn_password(db: Database, user_id: str, password: str) -> Actor:
    """After the server accepted the password: keep its verifier here, sign them in and
    journal the login (a login checked online is a login on this laptop too)."""
    from desktop_audit.domain import trail

    signer = remember_password(db, user_id, password)
    actor = actor_of(db, user_id).with_signer(signer)
    with db.atomic():
        trail.append(db, actor, trail.Entry("login", "User", actor.id, None,
                                            {"checked": [None, "online"]}))
    return actor


def actor_of(db: Database, user_id: str) -> Actor:
    from desktop_audit.domain.auth import actor_from_row
    from desktop_audit.schema import BY_NAME
    from desktop_audit.store import rows

    row = rows.load(db, BY_NAME["User"], user_id)
    if row is None:
        raise AuthError("your account is not on this laptop after the sync")
    return actor_from_row(row)


def sync(db: Database, client: ParseClient, actor: Actor | None, *,
         control: Control | None = None, retry_budget: float = 120.0,
         pull: bool = True) -> SyncReport:
    """One sync run: journal it, pull, push."""
    from desktop_audit.domain import trail

    with db.atomic():
        trail.append(db, actor, trail.Entry("sync", None, None, None,
                                            {"server": [None, client.server_url]}))
    engine = SyncEngine(db, client, actor=actor, control=control, retry_budget=retry_budget)
    report = engine.run(pull=pull)
    deliver_unlocks(db, client, actor)
    return report


def deliver_unlocks(db: Database, client: ParseClient, actor: Actor | None) -> None:
    """The users an administrator unlocked on this laptop: the server lifts their lockout
    (an administrator's sync only; otherwise they wait for one).  A failure leaves them
    for the next sync."""
    from desktop_audit.services.users import pending_unlocks, unlocks_delivered

    if actor is None or actor.role != "admin":
        return
    ids = pending_unlocks(db)
    if not ids:
        return
    try:
        results = Retrier(30.0)(lambda: client.call("unlockUsers", {"users": ids}))
    except (ParseError, TransientError):
        return
    unlocks_delivered(db, [oid for oid, result in zip(ids, results, strict=True)
                           if "success" in result or
                           (result.get("error") or {}).get("code") == OBJECT_NOT_FOUND])


def join(db_path: Path, client: ParseClient, username: str, password: str, *,
         control: Control | None = None, retry_budget: float = 120.0,
         open_db: Callable[..., Database] | None = None) -> tuple[Database, SyncReport]:
    """A laptop without a database: log in online, create it, pull everything this user
    may see, and keep their verifier so they can work offline from now on."""
    from desktop_audit.store import open_database

    started = time.monotonic()
    user = online_login(client, username, password, budget=retry_budget)
    signed_in = time.monotonic()
    db = (open_db or open_database)(db_path, create=True)
    engine = SyncEngine(db, client, control=control, retry_budget=retry_budget)
    engine.pull()
    pulled = time.monotonic()
    actor = learn_password(db, user["objectId"], password)
    learnt = time.monotonic()
    before = client.requests_made  # the sign-in and the pull
    report = sync(db, client, actor, control=control, retry_budget=retry_budget, pull=False)
    report.timings = {"sign-in": signed_in - started + learnt - pulled,
                      "pull": pulled - signed_in, **report.timings}
    report.requests += before
    report.pulled += engine.report.pulled
    report.files_down += engine.report.files_down
    report.merged += engine.report.merged
    report.seconds = time.monotonic() - started
    return db, report
