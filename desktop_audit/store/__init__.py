"""Local storage: one SQLite file, peewee models derived from the schema, migrations."""

from desktop_audit.store.db import Database, open_database

__all__ = ["Database", "open_database"]
