"""Helpers for the evidence pack tests: demo actors and poppler's tools."""

from __future__ import annotations

import subprocess
from pathlib import Path

from desktop_audit import demo
from desktop_audit.domain import auth
from desktop_audit.domain.actor import Actor
from desktop_audit.store import Database

PASSWORDS = {demo.ADMIN[0]: demo.ADMIN[3], **{u[0]: u[4] for u in demo.USERS}}


def actor(db: Database, username: str) -> Actor:
    """A demo user (or one a test made with the password long-enough-1) signed in: what they
    journal is signed with their key on this laptop."""
    return auth.login(db, username, PASSWORDS.get(username, "long-enough-1"))


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
