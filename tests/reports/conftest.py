"""A demo database built once per test session and copied for every test (exports journal)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from desktop_audit import demo
from desktop_audit.domain import auth
from desktop_audit.store import Database, open_database

for tool in ("pdftotext", "pdfinfo", "pdfimages", "pdffonts", "pdftoppm"):
    if shutil.which(tool) is None:  # ./dev test installs poppler-utils
        raise RuntimeError(f"{tool} (poppler-utils) is needed by the evidence pack tests")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    saved = auth._hasher
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)
    try:
        db = open_database(folder / "audit.sqlite")
        demo.first_run(db)
        db.close()
    finally:
        auth._hasher = saved
    return folder


@pytest.fixture
def demo_path(demo_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(demo_template, target)
    return target / "audit.sqlite"


@pytest.fixture
def demo_db(demo_path: Path) -> Iterator[Database]:
    db = open_database(demo_path)
    yield db
    db.close()
