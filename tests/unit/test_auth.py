"""Users: argon2id verifiers only, login journaled, a growing delay after failures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desktop_audit import clock, services
from desktop_audit.domain import auth
from desktop_audit.errors import AuthError, ValidationError
from tests.conftest import PASSWORD, World


def test_passwords_are_stored_only_as_argon2id_verifiers(world: World, db_path) -> None:
    row = world.db.execute('SELECT "passwordVerifier" FROM "user" WHERE username = ?',
                           ("auditor",)).fetchone()
    assert row[0].startswith("$argon2id$")
    world.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert PASSWORD.encode() not in db_path.read_bytes()


def test_login_and_failures_are_journaled(world: World) -> None:
    (before,) = world.db.execute("SELECT max(rowid) FROM audit_trail_event").fetchone()
    actor = auth.login(world.db, "auditor", PASSWORD)
    assert actor.role == "auditor" and world.site_a in actor.site_ids
    with pytest.raises(AuthError, match="wrong username or password"):
        auth.login(world.db, "auditor", "not-the-password")
    with pytest.raises(AuthError, match="wrong username or password"):
        auth.login(world.db, "nobody", "whatever-it-is")
    rows = world.db.execute(
        'SELECT "action", "actor", "keyId" FROM audit_trail_event WHERE "action" LIKE '
        '\'login%\' AND rowid > ? ORDER BY seq', (before,)).fetchall()
    assert [r[0] for r in rows] == ["login", "login_failed", "login_failed"]
    # A sign-in is signed by the user's key; a failure (no actor) by the laptop's own key.
    from desktop_audit.store import keyring

    assert rows[0][1:] == (actor.id, actor.signer.key_id)
    device_key = keyring.device_key(world.db, world.db.device_id)
    assert rows[1][1:] == rows[2][1:] == (None, device_key.key_id)


def test_the_delay_grows_after_each_failure(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    start = clock.now()
    now = [start]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    waits = []
    for _ in range(4):
        with pytest.raises(AuthError):
            auth.login(world.db, "auditor", "wrong-password")
        waits.append(auth.wait_seconds(world.db, "auditor"))
        with pytest.raises(AuthError, match="try again in"):
            auth.login(world.db, "auditor", PASSWORD)  # even the right password must wait
        now[0] = now[0] + timedelta(seconds=waits[-1] + 0.01)
    assert waits == sorted(waits) and waits[-1] > waits[0] > 0
    assert auth.login(world.db, "auditor", PASSWORD).username == "auditor"
    assert auth.wait_seconds(world.db, "auditor") == 0


def test_deactivated_users_cannot_log_in(world: World) -> None:
    services.update_user(world.db, world.admin, world.auditor.id, active=False)
    with pytest.raises(AuthError, match="deactivated"):
        auth.login(world.db, "auditor", PASSWORD)


def test_weak_passwords_and_bad_emails_are_refused(world: World) -> None:
    with pytest.raises(ValidationError, match="at least 8"):
        services.create_user(world.db, world.admin, username="x1", email="x@example.com",
                             role="auditor", password="short")
    with pytest.raises(ValidationError, match="not an email"):
        services.create_user(world.db, world.admin, username="x2", email="nope",
                             role="auditor", password="long-enough-pw")
    with pytest.raises(ValidationError, match="already exists"):
        services.create_user(world.db, world.admin, username="Auditor", email="a@example.com",
                             role="auditor", password="long-enough-pw")


def test_a_user_changes_their_own_password_with_the_current_one(world: World) -> None:
    with pytest.raises(AuthError, match="current password"):
        services.set_password(world.db, world.auditor, world.auditor.id, "new-password-1",
                              current="wrong")
    services.set_password(world.db, world.auditor, world.auditor.id, "new-password-1",
                          current=PASSWORD)
    assert auth.login(world.db, "auditor", "new-password-1").id == world.auditor.id
