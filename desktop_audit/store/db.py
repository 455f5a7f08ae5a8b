"""open_database(): the one way the app, the CLI and the tests open the SQLite file."""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import peewee

from desktop_audit.errors import IntegrityError
from desktop_audit.store import search_index

# Every model is bound to this proxy; open_database() points it at the file.
database_proxy = peewee.DatabaseProxy()

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "synchronous": "normal",  # safe with WAL: a crash loses at most the last commit, never corrupts
    "cache_size": -32_000,
    "temp_store": "memory",
}


class Database:
    """An open audit database: the peewee handle, its path and this device's identity."""

    def __init__(self, path: Path, handle: peewee.SqliteDatabase) -> None:
        self.path = path
        self.handle = handle
        self._marker: Path | None = None
        # Called first when the database closes (the app's writer thread finishes its queue).
        self.on_close: list[Callable[[], None]] = []
        # What a front end keeps with this open database (the app's op runner).
        self.attached: dict[str, Any] = {}
        # Set once the search index exists: each outermost write transaction then hands
        # the rows it changed to the index before it commits (store/search_index.py).
        self.search_indexed = False

    @property
    def files_dir(self) -> Path:
        """Where evidence files are kept, by SHA-256, next to the database file."""
        return self.path.parent / (self.path.stem + "-files")

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.handle.execute_sql("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.handle.execute_sql(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @property
    def device_id(self) -> str:
        value = self.meta("device_id")
        assert value, "database not migrated"
        return value

    @property
    def schema_version(self) -> int:
        return int(self.meta("schema_version", "0") or 0)

    @contextmanager
    def atomic(self) -> Iterator[Any]:
        """A write transaction that takes the write lock at once (no upgrade deadlocks); the
        outermost one brings the search index up to date before it commits."""
        outermost = self.handle.transaction_depth() == 0
        with self.handle.atomic(lock_type="IMMEDIATE") as txn:
            yield txn
            if outermost and self.search_indexed:
                search_index.catch_up(self)

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        return self.handle.execute_sql(sql, params)

    def quick_check(self) -> None:
        rows = [r[0] for r in self.handle.execute_sql("PRAGMA quick_check").fetchall()]
        if rows != ["ok"]:
            raise IntegrityError(f"database file {self.path} is damaged: {'; '.join(rows[:3])}")

    def close(self) -> None:
        while self.on_close:
            self.on_close.pop()()
        if not self.handle.is_closed():
            self.handle.close()
        if self._marker is not None:
            self._marker.unlink(missing_ok=True)
            self._marker = None
        if database_proxy.obj is self.handle:
            database_proxy.initialize(None)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale_markers(path: Path) -> list[Path]:
    """Open-markers left by processes that died without closing the database."""
    stale = []
    for marker in path.parent.glob(path.name + ".open-*"):
        try:
            pid = int(marker.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if not _pid_alive(pid):
            stale.append(marker)
    return stale


def open_database(path: str | os.PathLike[str], *, migrate: bool = True,
                  create: bool = True) -> Database:
    """Open (and by default create and migrate) the audit database at *path*.

    Opening is cheap on a large file: the full integrity check runs when a
    migration runs and after an unclean shutdown (a process that had the file
    open died), not at every start.
    """
    from desktop_audit.store import migrations  # models import this module

    path = Path(path).expanduser().resolve()
    if not path.exists() and not create:
        raise IntegrityError(f"no database at {path} (run `desktop-audit init` first)")
    if path.exists() and path.is_dir():
        raise IntegrityError(f"{path} is a folder, not a database file")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise IntegrityError(f"{path} is not a desktop_audit database (not SQLite)")

    handle = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS, check_same_thread=False,
                                   timeout=10)
    handle.register_function(search_index.folded_contains, "search_has", -1, deterministic=True)
    handle.register_function(search_index.indexed_text, "search_text", -1, deterministic=True)
    try:
        handle.connect(reuse_if_open=True)
    except (peewee.DatabaseError, sqlite3.DatabaseError) as exc:
        raise IntegrityError(f"cannot open {path}: {exc}") from exc
    database_proxy.initialize(handle)
    db = Database(path, handle)

    stale = _stale_markers(path)
    try:
        if migrate:
            ran = migrations.migrate(db)
            if stale and not ran:
                db.quick_check()
            search_index.ensure(db)
            db.search_indexed = True
        elif stale:
            db.quick_check()
    except (peewee.DatabaseError, sqlite3.DatabaseError) as exc:
        db.close()
        raise IntegrityError(f"cannot use {path}: {exc}") from exc
    except Exception:
        db.close()
        raise
    for marker in stale:
        marker.unlink(missing_ok=True)
    db._marker = path.parent / f"{path.name}.open-{os.getpid()}"
    db._marker.touch()
    return db


@contextmanager
def opened(path: str | os.PathLike[str], **kwargs: Any) -> Iterator[Database]:
    db = open_database(path, **kwargs)
    try:
        yield db
    finally:
        db.close()


_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# Random bytes below 248 (= 4 x 62) map evenly onto the alphabet; the rest are dropped.
_TABLE = bytes(_ALPHABET[b % 62] for b in range(248)) + bytes(8)
_DROP = bytes(range(248, 256))


_ids: list[str] = []


def new_object_id() -> str:
    """A Parse-style objectId made on the laptop: 10 characters of [A-Za-z0-9].

    Drawn from the OS's random source a few hundred at a time (one system call instead of
    one per record: an import makes two ids per row)."""
    try:
        return _ids.pop()
    except IndexError:
        pass
    chars = secrets.token_bytes(4096).translate(_TABLE, _DROP)
    fresh = [chars[i:i + 10].decode("ascii") for i in range(0, len(chars) - 9, 10)]
    _ids.extend(fresh[1:])
    return fresh[0]
