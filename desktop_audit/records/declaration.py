"""The pieces a record type declares its rules with: data that names small functions.

A record type says *what* holds (this field is the product of those two, this date is
not in the future, a closed finding is not edited, closing needs a verification note)
as values of the classes below; *how* each named function computes is in
``records/rulefns.py``, and Cloud Code has the same functions under the same names
(``resources/parse_server/cloud/rulefns.js``).  The laptop evaluates the declarations
through ``RecordType`` (records/base.py); ``records/rulebook.py`` publishes the same
declarations to the server as one JSON document, where a generic engine applies them.

Arguments name fields of the record being judged; ``params`` are constants (JSON).
A refusal's ``message`` is a template: ``{name}`` is the record's value of that field
or a value the function returned (``{value}``, ``{reason}`` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

# Sentinels of a missing template value (formatting never fails on a missing name).


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, *sources: Mapping[str, Any]) -> str:
    """A message template with the values of *sources* (later ones win)."""
    merged: dict[str, Any] = {}
    for src in sources:
        merged.update({k: ("" if v is None else v) for k, v in src.items()})
    return template.format_map(_Missing(merged))


@dataclass(frozen=True)
class Derivation:
    """``field`` is computed by the named function from the values of ``args``.

    ``when_changed``: computed again only when one of these fields changes (the threshold
    an aspect was judged by is the site's when it is rated, not later); None: always.
    ``typed_inputs``: the fields a person types that it comes from (what a file must give
    with it); default ``args``."""

    field: str
    fn: str
    args: tuple[str, ...]
    params: Mapping[str, Any] = dc_field(default_factory=dict)
    when_changed: tuple[str, ...] | None = None
    typed_inputs: tuple[str, ...] | None = None

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.typed_inputs if self.typed_inputs is not None else self.args

    def publish(self) -> dict[str, Any]:
        return {"field": self.field, "fn": self.fn, "args": list(self.args),
                "params": dict(self.params),
                "whenChanged": list(self.when_changed) if self.when_changed else None}


@dataclass(frozen=True)
class Check:
    """A named function that must hold; when it does not, ``field`` is refused with
    ``message``.  Used for validations (``on``: the actions it judges), workflow gates and
    closing states."""

    fn: str
    field: str
    message: str
    args: tuple[str, ...] = ()
    params: Mapping[str, Any] = dc_field(default_factory=dict)
    on: tuple[str, ...] = ("create", "edit")

    def publish(self) -> dict[str, Any]:
        return {"fn": self.fn, "field": self.field, "message": self.message,
                "args": list(self.args), "params": dict(self.params), "on": list(self.on)}


@dataclass(frozen=True)
class Lock:
    """A state that forbids an action: while ``field`` equals ``equals``, ``action`` is
    refused with ``message`` (a closed finding is not edited)."""

    action: str
    field: str
    equals: Any
    message: str

    def publish(self) -> dict[str, Any]:
        return {"action": self.action, "field": self.field, "equals": self.equals,
                "message": self.message}


@dataclass(frozen=True)
class Transition:
    """How a workflow action shows in a record's values (what the server sees arrive):
    ``field`` goes to ``to`` (from any other value).  ``stamps`` are the fields the
    action fills with who took it and when (from the journaled change), ``clears`` the
    fields it empties; ``may_change`` the other fields it may change; ``unlocks``: the
    record is judged after the action (a reopened finding may be edited in the same
    write), otherwise before it (an edit made before closing)."""

    action: str
    field: str
    to: Any
    from_value: Any  # the value it leaves (what a new record carrying the step had before it)
    stamps: tuple[str, str] | None = None  # (who, when)
    clears: tuple[str, ...] = ()
    may_change: tuple[str, ...] = ()
    unlocks: bool = False
    # The trail action that journals it (whose actor and time are the stamps).
    journal: str = ""

    def publish(self) -> dict[str, Any]:
        return {"action": self.action, "field": self.field, "to": self.to,
                "from": self.from_value, "stamps": list(self.stamps) if self.stamps else None,
                "clears": list(self.clears), "mayChange": list(self.may_change),
                "unlocks": self.unlocks, "journal": self.journal or self.action}
