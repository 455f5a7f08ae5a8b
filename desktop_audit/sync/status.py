"""What a Sync view shows and does, without Qt: settings, state, Sync now, online or not.

A GUI runs ``sync_now`` in a worker (it reports progress through its ``jobs.Control`` and
stops at the next step once that is cancelled) and reads ``sync_status`` to show
the last sync, pending changes, quarantined changes and open conflicts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from desktop_audit.errors import SyncError
from desktop_audit.jobs import Control
from desktop_audit.sync import session
from desktop_audit.sync.engine import (
    Conflict,
    SyncReport,
    open_conflicts,
    pending_count,
    quarantined,
)
from desktop_audit.sync.parse_client import ParseClient

# Runs database work where the program does its writes and returns when it is done.
WriteRunner = Callable[[Callable[[], Any]], Any]

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database


@dataclass
class SyncSettings:
    server: str | None
    app_id: str
    key_env: str | None = None


@dataclass
class SyncStatus:
    settings: SyncSettings
    last_sync_at: str | None
    pending: int
    conflicts: list[Conflict] = field(default_factory=list)
    quarantined: list[tuple[str, str, int, str, str]] = field(default_factory=list)


def settings(db: Database) -> SyncSettings:
    return SyncSettings(db.meta("sync_server"), db.meta("sync_app_id") or session.DEFAULT_APP_ID,
                        db.meta("sync_key_env"))


def save_settings(db: Database, new: SyncSettings) -> None:
    if not new.server:
        raise SyncError("a server URL is needed, e.g. http://127.0.0.1:1337/parse")
    ParseClient(new.server, new.app_id)  # refuses a URL that is not one
    with db.atomic():
        db.set_meta("sync_server", new.server)
        db.set_meta("sync_app_id", new.app_id)
        db.set_meta("sync_key_env", new.key_env or "")


def sync_status(db: Database) -> SyncStatus:
    return SyncStatus(settings(db), db.meta("sync_last_at"),
                      pending_count(db),
                      open_conflicts(db), quarantined(db))


def is_online(db: Database, timeout: float = 2.0) -> bool:
    """Whether the configured server answers its health check now."""
    s = settings(db)
    if not s.server:
        return False
    with session.make_client(s.server, s.app_id, key_env=s.key_env or None,
                             timeout=timeout) as client:
        return client.health()


def sync_now(db: Database, actor: Actor, password: str, *,
             control: Control | None = None,
             retry_budget: float = 60.0) -> SyncReport:
    """Log in online as *actor* and run one sync with the saved settings."""
    s = settings(db)
    if not s.server:
        raise SyncError("no server set: enter the server URL and app id first")
    with session.make_client(s.server, s.app_id, key_env=s.key_env or None) as client:
        session.online_login(client, actor.username, password, budget=retry_budget)
        try:
            return session.sync(db, client, actor, control=control,
                                retry_budget=retry_budget)
        finally:
            try:
                client.logout()
            except Exception:  # noqa: BLE001 - the sync result matters, not the logout
                pass


class LiveSession:
    """While online: a logged-in client and a Live Query on findings and reviews.

    Live Query does not replay what was missed while the connection was down, so when
    ``keep_alive()`` finds it dropped and the server answering again, it first runs a
    normal sync with the same session, then subscribes again."""

    def __init__(self, db: Database, actor: Actor, client: Any,
                 on_change: Callable[[str, str, str], None] | None,
                 run_write: WriteRunner | None = None) -> None:
        self.db = db
        self.actor = actor
        self.client = client
        self.on_change = on_change
        self.run_write: WriteRunner = run_write or (lambda work: work())
        self.live: Any = None
        self.reconnects = 0

    def start(self) -> None:
        from desktop_audit.sync.live import LiveQuery

        self.live = LiveQuery(self.db, self.client, on_change=self.on_change,
                              run_write=self.run_write)
        self.live.start()

    @property
    def running(self) -> bool:
        return self.live is not None and self.live.running

    def keep_alive(self) -> bool:
        """Reconnect after a drop (pull first); True when listening afterwards."""
        if self.running:
            return True
        if not self.client.health():
            return False
        self.run_write(lambda: session.sync(self.db, self.client, self.actor, retry_budget=10.0))
        self.start()
        self.reconnects += 1
        return True

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001 - leaving: a failed logout changes nothing here
            pass
        self.client.close()


def start_live(db: Database, actor: Actor, password: str,
               on_change: Callable[[str, str, str], None] | None = None,
               run_write: WriteRunner | None = None) -> LiveSession:
    """Log in online and keep a Live Query running (the caller stops it)."""
    s = settings(db)
    if not s.server:
        raise SyncError("no server set: enter the server URL and app id first")
    client = session.make_client(s.server, s.app_id, key_env=s.key_env or None)
    try:
        session.online_login(client, actor.username, password, budget=10.0)
        live = LiveSession(db, actor, client, on_change, run_write)
        live.start()
    except BaseException:
        client.close()
        raise
    return live
