"""peewee models, generated from desktop_audit.schema (the one declaration).

Values are stored the way they travel: timestamps as ISO-8601 UTC text, dates
as YYYY-MM-DD, lists and objects as JSON text, pointers as the target's
objectId.  Besides the schema's fields every synced table carries the local
sync bookkeeping: the server version the row was based on (``serverUpdatedAt``
and ``syncBase``, the server's values at that version) and a tombstone
(``deletedAt``).
"""

from __future__ import annotations

from typing import Any

import peewee

from desktop_audit import schema
from desktop_audit.store import codec
from desktop_audit.store.db import database_proxy


class JSONField(peewee.TextField):
    """An object kept as compact JSON text (the one encoding: store/codec.py)."""

    def db_value(self, value: Any) -> Any:
        return codec.to_db("object", value)

    def python_value(self, value: Any) -> Any:
        return codec.from_db("object", value)


class ListField(JSONField):
    """A list kept as JSON text; an empty column reads as an empty list."""

    def python_value(self, value: Any) -> Any:
        return codec.from_db("string_list", value)


class BaseModel(peewee.Model):
    objectId = peewee.CharField(primary_key=True, max_length=10)
    createdAt = peewee.TextField()
    updatedAt = peewee.TextField()
    serverUpdatedAt = peewee.TextField(null=True)
    syncBase = JSONField(null=True)
    deletedAt = peewee.TextField(null=True)

    class Meta:
        database = database_proxy
        legacy_table_names = False


# Local-only columns: never exported, never pushed as fields.
BOOKKEEPING = ("serverUpdatedAt", "syncBase", "deletedAt")


class Meta(peewee.Model):
    key = peewee.TextField(primary_key=True)
    value = peewee.TextField(null=True)

    class Meta:
        database = database_proxy
        table_name = "meta"


class Outbox(peewee.Model):
    """Changes made here and not yet pushed; written in the same transaction as the change."""

    id = peewee.AutoField()
    className = peewee.TextField()
    objectId = peewee.TextField()
    queuedAt = peewee.TextField()

    class Meta:
        database = database_proxy
        table_name = "outbox"
        indexes = ((("className", "objectId"), False),)


def _column(f: schema.Field, models: dict[str, type[BaseModel]]) -> peewee.Field:
    # Required-ness is a rule of the services, which say which field is missing.
    if f.kind in ("string", "text", "enum", "date", "datetime", "secret"):
        return peewee.TextField(null=True, unique=f.unique)
    if f.kind == "int":
        return peewee.IntegerField(null=True)
    if f.kind == "bool":
        return peewee.BooleanField(null=True)
    if f.kind in ("string_list", "pointer_list"):
        return ListField(null=True)
    if f.kind in ("object", "file"):
        return JSONField(null=True)
    if f.kind == "pointer":
        assert f.target
        target = models[f.target]
        return peewee.ForeignKeyField(target, null=True, column_name=f.name,
                                      object_id_name=f.name + "_id", lazy_load=False,
                                      backref="+", index=True)
    raise AssertionError(f"no column type for {f.kind}")


def _build() -> dict[str, type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {}
    for cdef in schema.CLASSES:
        attrs: dict[str, Any] = {"__module__": __name__}
        for f in cdef.fields:
            attrs[f.name] = _column(f, models)
        indexes = tuple((cols, True) for cols in cdef.unique_together)
        attrs["Meta"] = type("Meta", (), {"table_name": cdef.table, "indexes": indexes})
        models[cdef.name] = type(cdef.name, (BaseModel,), attrs)
    return models


MODELS: dict[str, type[BaseModel]] = _build()
User = MODELS["User"]
AuditSite = MODELS["AuditSite"]
AspectImpactLog = MODELS["AspectImpactLog"]
SpillKitLog = MODELS["SpillKitLog"]
LegalRegisterEntry = MODELS["LegalRegisterEntry"]
AuditReview = MODELS["AuditReview"]
AuditFinding = MODELS["AuditFinding"]
Evidence = MODELS["Evidence"]
AuditTrailEvent = MODELS["AuditTrailEvent"]

ALL_TABLES: list[type[peewee.Model]] = [Meta, Outbox, *MODELS.values()]


def model_for(class_name: str) -> type[BaseModel]:
    return MODELS[schema.class_def(class_name).name]


def row_dict(record: peewee.Model, cdef: schema.ClassDef) -> dict[str, Any]:
    """A record's schema fields plus objectId/createdAt/updatedAt as plain values."""
    out: dict[str, Any] = {name: getattr(record, name) for name in schema.SYSTEM_COLUMNS}
    for f in cdef.fields:
        out[f.name] = getattr(record, f.name)
    return out
