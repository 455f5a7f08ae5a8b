"""Views of the schema declaration: the data dictionary, the Parse schema, the ER diagram."""

from __future__ import annotations

import json
from typing import Any

from desktop_audit.schema import BY_NAME, CLASSES, ClassDef, Field

PARSE_TYPES = {
    "string": "String", "text": "String", "enum": "String", "secret": "String",
    "int": "Number", "bool": "Boolean", "date": "Date", "datetime": "Date",
    "pointer": "Pointer", "pointer_list": "Array", "string_list": "Array",
    "object": "Object", "file": "File",
}


def parse_field(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"type": PARSE_TYPES[f.kind], "required": f.required}
    if f.kind == "pointer" and f.target:
        out["targetClass"] = BY_NAME[f.target].remote_name
    if f.kind == "string_list":
        out["innerType"] = "String"
    if f.kind == "pointer_list" and f.target:
        out["innerType"] = "Pointer"
        out["targetClass"] = BY_NAME[f.target].remote_name
    return out


def parse_schema() -> dict[str, Any]:
    """The schema in the seed document's JSON format (Parse class names and types)."""
    classes = []
    for c in CLASSES:
        fields: dict[str, Any] = {"objectId": {"type": "String", "required": False}}
        if c.accounts:
            fields["password"] = {"type": "String", "required": True}
        for f in c.fields:
            fields[f.name] = parse_field(f)
        fields["createdAt"] = {"type": "Date", "required": False}
        fields["updatedAt"] = {"type": "Date", "required": False}
        classes.append({"className": c.remote_name, "fields": fields})
    return {"classes": classes}


def _describe(f: Field) -> str:
    bits = [f.label]
    if f.choices:
        bits.append("one of " + ", ".join(f"`{c}`" for c in f.choices))
    if f.minimum is not None:
        bits.append(f"{f.minimum}–{f.maximum}")
    if f.derived:
        bits.append("derived: " + (f.help or "computed"))
    elif f.help:
        bits.append(f.help)
    if f.aliases:
        bits.append("seed name: " + ", ".join(f"`{a}`" for a in f.aliases))
    if f.suggestions:
        bits.append("checklist: " + ", ".join(f.suggestions))
    if f.unique:
        bits.append("unique")
    return "; ".join(bits)


def _type(f: Field) -> str:
    t = PARSE_TYPES[f.kind]
    if f.kind == "pointer" and f.target:
        t += f" → {f.target}"
    if f.kind == "pointer_list" and f.target:
        t += f" of → {f.target}"
    return t


def markdown() -> str:
    lines = ["# desktop_audit data dictionary", ""]
    for c in CLASSES:
        title = f"## {c.name}"
        if c.remote_name != c.name:
            title += f" (Parse `{c.remote_name}`)"
        lines += [title, ""]
        if c.description:
            lines += [c.description + (f" ISO 14001 {c.iso_clause}." if c.iso_clause else ""), ""]
        lines += ["| Field | Type | Required | Description |", "|---|---|---|---|",
                  "| objectId | String | auto | 10 characters, made on the laptop |"]
        for f in c.fields:
            req = "yes" if f.required else ""
            lines.append(f"| {f.name} | {_type(f)} | {req} | {_describe(f)} |")
        lines += ["| createdAt | Date | auto | UTC |", "| updatedAt | Date | auto | UTC |"]
        lines += ["", f"{len(c.fields) + 3} fields in {c.name}", ""]
    return "\n".join(lines)


def _mermaid_type(f: Field) -> str:
    return PARSE_TYPES[f.kind]


def mermaid() -> str:
    lines = ["erDiagram"]
    for c in CLASSES:
        for f in c.fields:
            if f.kind == "pointer" and f.target:
                lines.append(f'    {f.target} ||--o{{ {c.name} : "{f.name}"')
            if f.kind == "pointer_list" and f.target:
                lines.append(f'    {c.name} }}o--o{{ {f.target} : "{f.name}"')
    lines.append("")
    for c in CLASSES:
        lines.append(f"    {c.name} {{")
        lines.append("        String objectId PK")
        for f in c.fields:
            key = " FK" if f.kind == "pointer" else ""
            lines.append(f"        {_mermaid_type(f)} {f.name}{key}")
        lines.append("        Date createdAt")
        lines.append("        Date updatedAt")
        lines.append("    }")
    return "\n".join(lines)


def render(fmt: str) -> str:
    if fmt == "json":
        return json.dumps(parse_schema(), indent=2)
    if fmt == "mermaid":
        return mermaid()
    return markdown()


def class_summary(c: ClassDef) -> str:
    return f"{c.name}: {', '.join(f.name for f in c.fields)}"
