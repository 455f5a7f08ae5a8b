"""Helpers for the evidence pack tests: demo actors and poppler's tools."""

from __future__ import annotations

import subprocess
from pathlib import Path

from desktop_audit.domain import auth
from desktop_audit.domain.actor import Actor
from desktop_audit.schema import USER
from desktop_audit.services import users
from desktop_audit.store import Database, rows


def actor(db: Database, username: str) -> Actor:
    return auth.actor_from_row(rows.must_load(db, USER, users.find_user(db, username)["objectId"]))


def site_id(db: Database, code: str) -> str:
    return str(db.execute('SELECT "objectId" FROM audit_site WHERE "siteCode" = ?', (code,)).fetchone()[0])


def run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True,
                          text=True).stdout


def text(pdf: Path, *, first: int | None = None, last: int | None = None, layout: bool = True) -> str:
    args: list[str | Path] = ["pdftotext", "-enc", "UTF-8"]
    if layout:
        args.append("-layout")
    if first is not None:
        args += ["-f", str(first)]
    if last is not None:
        args += ["-l", str(last)]
    return run(*args, pdf, "-")


def info(pdf: Path) -> dict[str, str]:
    out = {}
    for line in run("pdfinfo", "-enc", "UTF-8", pdf).splitlines():
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out
