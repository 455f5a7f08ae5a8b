"""Shared fixtures: a fresh SQLite file per test, users of every role on two sites."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop_audit import services  # noqa: E402
from desktop_audit.domain import auth  # noqa: E402
from desktop_audit.domain.actor import Actor  # noqa: E402
from desktop_audit.store import Database, open_database  # noqa: E402

PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with small costs: the same algorithm and format, a test suite that runs fast."""
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=256,
                                                        parallelism=1))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.sqlite"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    handle = open_database(db_path)
    yield handle
    handle.close()


@dataclass
class World:
    """Two sites; one user per role assigned to site A (the manager owns it); admin sees all."""

    db: Database
    admin: Actor
    manager: Actor
    coordinator: Actor
    auditor: Actor
    field_staff: Actor
    other_manager: Actor  # owns site B, not assigned to A
    site_a: str
    site_b: str

    def actor(self, role: str) -> Actor:
        return getattr(self, role)


def _actor(db: Database, username: str) -> Actor:
    """Signed in as on a laptop: what they journal is signed with their key."""
    return auth.login(db, username, PASSWORD)


@pytest.fixture
def world(db: Database) -> World:
    admin = services.bootstrap_admin(db, username="admin", email="admin@example.com",
                                     password=PASSWORD)
    ids = {}
    for role in ("manager", "coordinator", "auditor", "field_staff"):
        ids[role] = services.create_user(db, admin, username=role.replace("_", ""),
                                         email=f"{role}@example.com", role=role,
                                         password=PASSWORD, full_name=role.title())
    ids["other"] = services.create_user(db, admin, username="othermanager",
                                        email="om@example.com", role="manager",
                                        password=PASSWORD)
    site_a = services.create_site(db, admin, siteCode="PLT-01", siteName="Plant One",
                                  region="North", siteOwner=ids["manager"])
    site_b = services.create_site(db, admin, siteCode="DEP-02", siteName="Łódź Süd",
                                  region="Łódzkie", siteOwner=ids["other"])
    for role in ("coordinator", "auditor", "field_staff"):
        services.assign_sites(db, admin, ids[role], [site_a])
    return World(db, admin, *(_actor(db, name) for name in
                              ("manager", "coordinator", "auditor", "fieldstaff",
                               "othermanager")),
                 site_a, site_b)
