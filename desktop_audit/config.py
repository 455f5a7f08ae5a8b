"""Where the data lives: DESKTOP_AUDIT_HOME, else the per-user data folder."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "desktop-audit"


def data_dir() -> Path:
    home = os.environ.get("DESKTOP_AUDIT_HOME")
    if home:
        return Path(home).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    env = os.environ.get("DESKTOP_AUDIT_DB")
    if env:
        return Path(env).expanduser()
    return data_dir() / "audit.sqlite"


def log_dir() -> Path:
    return data_dir() / "logs"


def resources_dir() -> Path:
    """resources/ from a source checkout, or beside the frozen executable."""
    import sys

    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def asset_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
