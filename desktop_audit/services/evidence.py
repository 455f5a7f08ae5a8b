"""Photo evidence: JPEG/PNG only, size-capped, stored once by SHA-256 beside the database."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_audit import clock, records
from desktop_audit.errors import ValidationError
from desktop_audit.records.evidence import EVIDENCE_TYPE, MAX_BYTES
from desktop_audit.schema import EVIDENCE
from desktop_audit.services import writing
from desktop_audit.services.unit_of_work import UnitOfWork, unit
from desktop_audit.store import rows

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database

SIGNATURES = {b"\xff\xd8\xff": ("image/jpeg", ".jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", ".png")}


def blob_path(db: Database, sha256: str, mime: str) -> Path:
    ext = ".png" if mime == "image/png" else ".jpg"
    return db.files_dir / sha256[:2] / f"{sha256}{ext}"


def _inspect(path: Path) -> tuple[str, str, str | None, int]:
    """(mime, sha256, taken-at from EXIF, size), refusing anything that is not a photo."""
    name = path.name
    if not path.is_file():
        raise ValidationError("file", f"{name}: no such file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ValidationError("file", f"{name} is {size / 1e6:.1f} MB; photos are limited to "
                                      f"{MAX_BYTES // (1024 * 1024)} MB")
    with open(path, "rb") as fh:
        head = fh.read(16)
    mime = next((m for sig, (m, _) in SIGNATURES.items() if head.startswith(sig)), None)
    if mime is None:
        if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
            raise ValidationError("file", f"{name} is a HEIC photo; export it as JPEG first")
        raise ValidationError("file", f"{name} is not a JPEG or PNG photo")
    from PIL import Image, UnidentifiedImageError

    taken = None
    try:
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            exif = img.getexif()
            raw = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)
            if isinstance(raw, str):
                try:
                    taken = clock.iso(datetime.strptime(raw.strip(), "%Y:%m:%d %H:%M:%S"))
                except ValueError:
                    taken = None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError("file", f"{name} is damaged or not a readable image") from exc
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return mime, digest.hexdigest(), taken, size


def add_evidence(db: Database, actor: Actor, *, parentClass: str, parentId: str,
                 path: str | os.PathLike[str], caption: str | None = None,
                 takenAt: Any = None, uow: UnitOfWork | None = None) -> str:
    """Attach a photo to a record anyone on its site may see."""
    photos = [rt.name for rt in records.with_photos()]
    if parentClass not in photos:
        raise ValidationError("parentClass", f"photos attach to {', '.join(photos)}")
    parent_type = records.of(parentClass)
    src = Path(path)
    mime, sha, exif_taken, size = _inspect(src)  # hashing and decoding: before the write lock
    with unit(db, actor, uow) as u:
        parent = u.visible(parent_type, parentId)
        values = {"site": parent_type.site_of(parent), "parentClass": parentClass,
                  "parentId": parentId, "fileName": src.name, "caption": caption,
                  "takenAt": takenAt if takenAt not in (None, "") else exif_taken}
        editable = ("site", "parentClass", "parentId", "fileName", "caption", "takenAt")
        change = writing.create(u, EVIDENCE_TYPE, values, editable=editable,
                                fixed={"mimeType": mime, "sha256": sha, "byteSize": size})
        target = blob_path(db, sha, mime)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".part")
            shutil.copyfile(src, tmp)
            os.replace(tmp, target)
        return change.object_id


def update_caption(db: Database, actor: Actor, object_id: str, caption: str | None, *,
                   uow: UnitOfWork | None = None) -> None:
    with unit(db, actor, uow) as u:
        writing.update(u, EVIDENCE_TYPE, object_id, {"caption": caption}, editable=("caption",))


def for_record(db: Database, parent_class: str, parent_id: str) -> list[dict[str, Any]]:
    return rows.select(db, EVIDENCE, {"parentClass": parent_class, "parentId": parent_id},
                       order=["createdAt"])
