"""desktop-audit: the command line.  Imports stay lazy so `--version` starts as fast as Python.

Exit codes: 0 done; 1 refused (validation, permission, login, integrity) with one
line on stderr; 2 usage.  Qt is imported only by the commands that show windows.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from desktop_audit import __version__

# Each module in desktop_audit/commands/ registers its sub-commands.
COMMAND_MODULES = (
    "setup",  # init, user
    "demo",
    "tables",  # export, import
    "trail",  # verify-trail, history
    "schema_cmd",  # schema
    "app",  # gui, screenshot
    "pack",  # export-pack
    "sync_cmd",  # server-setup, sync, conflicts, resolve
    "devices",  # device list, device revoke
)


class Context:
    """What a command needs: the database path, and the logged-in actor on demand."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._db: Any = None

    @property
    def db_path(self) -> Any:
        from pathlib import Path

        from desktop_audit import config

        return Path(self.args.db).expanduser() if self.args.db else config.default_db_path()

    def open_db(self, *, create: bool = False) -> Any:
        if self._db is None:
            from desktop_audit.store import open_database

            self._db = open_database(self.db_path, create=create)
        return self._db

    def password(self, variable: str = "DESKTOP_AUDIT_PASSWORD", *, prompt: str = "Password: ",
                 confirm: bool = False) -> str:
        from desktop_audit.errors import AuthError

        value = os.environ.get(variable)
        if value:
            return value
        if not sys.stdin.isatty():
            raise AuthError(f"no password: set {variable} or run on a terminal to be asked")
        import getpass

        value = getpass.getpass(prompt)
        if confirm and getpass.getpass("Again: ") != value:
            raise AuthError("the two passwords differ")
        return value

    def login(self) -> Any:
        from desktop_audit.domain import auth
        from desktop_audit.errors import AuthError

        user = self.args.user or os.environ.get("DESKTOP_AUDIT_USER")
        if not user:
            raise AuthError("this command needs a user: give --user NAME "
                            "(password from DESKTOP_AUDIT_PASSWORD)")
        db = self.open_db()
        return auth.login(db, user, self.password())

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="desktop-audit",
        description="ISO 14001 environmental audits, offline first.",
        epilog="Passwords are read from DESKTOP_AUDIT_PASSWORD or asked for; never give them "
               "as arguments.")
    parser.add_argument("--version", action="version", version=f"desktop-audit {__version__}")
    parser.add_argument("--db", metavar="PATH",
                        help="the database file (default: $DESKTOP_AUDIT_DB or the data folder)")
    parser.add_argument("--user", metavar="NAME", help="the acting user")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"desktop_audit.commands.{name}").register(sub)
    return parser


def _report_crash(exc: BaseException) -> str:
    """Keep the traceback in the log file; the user gets one line."""
    from desktop_audit import logs

    path = logs.record_failure(exc, "command line")
    return f" (details in {path})" if path else ""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv in (["--version"], ["-V"]):  # the fast path: no other import
        print(f"desktop-audit {__version__}")
        return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args([*argv, "gui"])
    ctx = Context(args)
    from desktop_audit.errors import AuditError

    try:
        code = args.func(ctx)
        return int(code or 0)
    except AuditError as exc:
        print(f"desktop-audit: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("desktop-audit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # noqa: BLE001 - the edge: never a traceback at a user
        where = _report_crash(exc)
        print(f"desktop-audit: internal error: {type(exc).__name__}: {exc}{where}",
              file=sys.stderr)
        return 1
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
