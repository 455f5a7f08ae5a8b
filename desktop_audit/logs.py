"""Diagnosable failures: a rotating log file in the data folder, with tracebacks.

The user sees one clear message; the log keeps the details a developer needs (the
traceback, the thread, the version).  ``setup()`` is idempotent and cheap; the app calls
it at start, the command line when something unexpected happens.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from pathlib import Path

from desktop_audit import __version__, config

LOGGER = "desktop_audit"
FILE_NAME = "desktop-audit.log"
MAX_BYTES = 1_000_000
BACKUPS = 5
_lock = threading.Lock()


def log_path() -> Path:
    return config.log_dir() / FILE_NAME


def setup(level: int = logging.INFO) -> Path | None:
    """Log to ``<data folder>/logs/desktop-audit.log`` (rotated at 1 MB, 5 kept); the
    path, or None when the folder cannot be written (the program goes on without)."""
    logger = logging.getLogger(LOGGER)
    path = log_path()
    with _lock:
        for handler in list(logger.handlers):
            if isinstance(handler, logging.handlers.RotatingFileHandler):
                if Path(handler.baseFilename) == path.resolve():
                    return path
                logger.removeHandler(handler)  # the data folder moved (another database home)
                handler.close()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES,
                                                           backupCount=BACKUPS,
                                                           encoding="utf-8", delay=True)
        except OSError:
            return None
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    logger.info("desktop-audit %s, Python %s", __version__, sys.version.split()[0])
    return path


def get(name: str) -> logging.Logger:
    """A logger under the program's own (``desktop_audit.<name>``)."""
    return logging.getLogger(f"{LOGGER}.{name}")


def record_failure(exc: BaseException, context: str = "") -> Path | None:
    """Write an unexpected failure with its traceback to the log; the log's path."""
    path = setup()
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    get("errors").error("unexpected failure%s\n%s", f" ({context})" if context else "",
                        details.rstrip())
    for handler in logging.getLogger(LOGGER).handlers:
        handler.flush()
    return path


def details(exc: BaseException) -> str:
    """What a "Copy details" button copies: version, the error and its traceback."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"desktop-audit {__version__} (Python {sys.version.split()[0]}, {sys.platform})\n{text}"
