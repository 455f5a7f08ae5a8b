"""Files on the server, tried as a hostile client would: uploads only of photos (JPEG and
PNG by content, at most 20 MB) for a site the uploader works on; downloads only with a
session of the file's site; an Evidence only with a file of its own site, whose SHA-256,
type and size it states truly.  And what must keep working: a photo added on one laptop
reaches a colleague on the same site."""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from desktop_audit import services
from desktop_audit.services.evidence import blob_path
from desktop_audit.sync import session
from desktop_audit.sync.parse_client import ParseClient
from tests.sync.conftest import APP_ID, PASSWORD, Server, Team, add_aspect
from tests.sync.hostile import (
    ROLES,
    Answer,
    Raw,
    World,
    add_user,
    jpeg,
    make_world,
    png,
    pointer,
    upload_name,
)

pytestmark = pytest.mark.sync


@pytest.fixture
def world(team: Team, server: Server) -> World:
    return make_world(team, server)


def upload(raw: Raw, name: str, data: bytes, token: str | None,
           content_type: str = "image/jpeg", **kw: Any) -> Answer:
    return raw.send("POST", "/files/" + urllib.parse.quote(name), data=data,
                    content_type=content_type, token=token, **kw)


NOT_PHOTOS = {
    "a Windows program": b"MZ\x90\x00\x03\x00\x00\x00" + bytes(300),
    "a script": b"alert(document.cookie)//",
    "random bytes": os.urandom(2048),
    "a web page": b"<html><body><script>alert(1)</script></body></html>",
    "an SVG": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "a PDF": b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF",
    "a JPEG's first two bytes": b"\xff\xd8",
    "a PNG signature alone": b"\x89PNG\r\n\x1a\n",
    "a HEIC photo": b"\x00\x00\x00\x18ftypheic" + bytes(100),
}


def _stored_count(server: Server) -> int:
    return server.count("StoredFile")


def test_uploads_are_photos_for_the_uploaders_own_sites(world: World) -> None:
    raw = world.raw
    accepted = 0
    for role in ROLES:
        token = world.token(role)
        for what, data in NOT_PHOTOS.items():
            for ext in ("jpg", "png", "exe", "js", "html"):
                a = upload(raw, upload_name(world.site_a, data, ext), data, token)
                # Ours (142, naming the field), or Parse Server's own for a web page's
                # extension (130).
                assert not a.ok and ((a.code == 142 and a.error.startswith("file: ")) or
                                     (a.code == 130 and ext == "html")), \
                    (role, what, ext, a.body)
        photo, picture = jpeg(ROLES.index(role)), png(ROLES.index(role))
        for data, ext in ((photo, "jpg"), (photo, "jpeg"), (picture, "png")):
            a = upload(raw, upload_name(world.site_a, data, ext), data, token)
            assert a.status == 201, (role, ext, a.body)
            accepted += 1
        # A PNG called a JPEG, a content that is not the SHA-256 of its name, no site.
        a = upload(raw, upload_name(world.site_a, picture, "jpg"), picture, token)
        assert a.code == 142 and "must end in .png" in a.error, a.body
        a = upload(raw, upload_name(world.site_a, picture, "png"), jpeg(99), token)
        assert a.code == 142, a.body
        a = upload(raw, f"{hashlib.sha256(photo).hexdigest()}.jpg", photo, token)
        assert a.code == 142 and "SITEID-SHA256" in a.error, a.body
        # Another site's: only an administrator works on every site.
        a = upload(raw, upload_name(world.site_b, photo), photo, token)
        if role == "admin":
            assert a.status == 201, a.body
            accepted += 1
        else:
            assert a.code == 142 and "assigned" in a.error, (role, a.body)
        # Streamed (the body read while stored): refused, nothing stored.
        a = upload(raw, upload_name(world.site_a, photo), photo, token,
                   headers={"X-Parse-Upload-Mode": "stream"})
        assert not a.ok, (role, a.body)
    photo = jpeg(7)
    # Without a session: nothing.
    a = upload(raw, upload_name(world.site_a, photo), photo, None)
    assert not a.ok, a.body
    # Over 20 MB, even when it starts like a photo.
    big = b"\xff\xd8\xff\xe0" + bytes(20 * 1024 * 1024)
    a = upload(raw, upload_name(world.site_a, big), big, world.token("admin"))
    assert not a.ok, a.status
    assert _stored_count(world.server) == accepted
    # Only what was accepted is on the disk (each under its stored name).
    with world.server.master() as m:
        names = {f["name"] for f in m.find("StoredFile", master=True)}
    assert len(names) == accepted


def test_a_photo_reaches_a_colleague_and_nobody_else(world: World, laptops: Any,
                                                     tmp_path: Path) -> None:
    from PIL import Image

    raw = world.raw
    mine = laptops.join("a", "auditor")
    oid = add_aspect(mine, world.site_a, 0)
    photo = tmp_path / "drums.jpg"
    Image.new("RGB", (64, 48), (30, 90, 160)).save(photo, "JPEG")
    services.add_evidence(mine.db, mine.actor, parentClass="AspectImpactLog", parentId=oid,
                          path=photo, caption="drums")
    report = mine.sync()
    assert report.exit_code == 0 and report.files_up == 1, report.summary()
    (evidence,) = world.server.all("Evidence")
    path = urllib.parse.urlsplit(evidence["file"]["url"]).path
    # A colleague on the same site gets it by the sync (and by a plain GET).
    colleague = laptops.join("c", "coordinator")
    rec = colleague.rows("evidence")[evidence["objectId"]]
    assert blob_path(colleague.db, rec["sha256"], rec["mimeType"]).read_bytes() == \
        photo.read_bytes()
    got = raw.send("GET", path, token=world.token("coordinator"), root=True)
    assert got.status == 200 and got.body == photo.read_bytes()
    assert raw.send("GET", path, token=world.token("admin"), root=True).body == \
        photo.read_bytes()
    # Nobody else: no session, someone of another site only.
    assert raw.send("GET", path, root=True).status >= 400
    add_user(world.team, "outsider", "coordinator", [world.site_b])
    world.sync_admin()
    with ParseClient(world.server.url, APP_ID) as c:
        outsider = session.online_login(c, "outsider", PASSWORD)["sessionToken"]
    refused = raw.send("GET", path, token=outsider, root=True)
    assert refused.status >= 400 and refused.body != photo.read_bytes()
    # ... the same answer as for a file that does not exist.
    missing = raw.send("GET", path[:path.rindex("/") + 1] + "0" * 32 + "_nothing.jpg",
                       token=outsider, root=True)
    assert (missing.status, missing.body) == (refused.status, refused.body)
    metadata = raw.send("GET", path.replace(f"/files/{APP_ID}/", f"/files/{APP_ID}/metadata/"),
                        token=outsider, root=True)
    assert not metadata.ok or metadata.body in ({}, None), metadata.body


def _evidence(world: World, site: str, name: str, data: bytes, **extra: Any) -> dict[str, Any]:
    body = {"site": pointer(site), "parentClass": "AuditSite", "parentId": site,
            "file": {"__type": "File", "name": name}, "fileName": "x.jpg",
            "mimeType": "image/jpeg", "sha256": hashlib.sha256(data).hexdigest(),
            "byteSize": len(data), "addedBy": {"__type": "Pointer", "className": "_User",
                                               "objectId": world.ids["admin"]}}
    body.update(extra)
    return body


def test_a_file_pointer_without_its_url_does_not_stop_the_server(world: World) -> None:
    """Parse Server's trigger logging cannot encode a File without a url and used to stop
    the process on such a request: by REST, /batch and GraphQL, with every session."""
    raw = world.raw
    photo = jpeg(31)
    name = upload(raw, upload_name(world.site_a, photo), photo,
                  world.token("coordinator")).body["name"]
    for role in ROLES:
        token = world.token(role)
        body = _evidence(world, world.site_a, name, photo, addedBy={
            "__type": "Pointer", "className": "_User", "objectId": world.ids[role]})
        raw.send("POST", "/classes/Evidence", body, token=token)
        raw.send("POST", "/batch", {"requests": [{"method": "POST",
                                                  "path": "/parse/classes/Evidence",
                                                  "body": body}]}, token=token)
        assert world.server.master().health(), role
    created = world.server.all("Evidence")
    for ev in created:  # an update of the record (its file read back without a url) too
        raw.send("PUT", f"/classes/Evidence/{ev['objectId']}", {"caption": "again"},
                 token=world.token("admin"))
        assert world.server.master().health()
    assert all(ev["file"]["url"] for ev in world.server.all("Evidence"))


def test_an_evidence_points_only_at_a_true_file_of_its_site(world: World) -> None:
    raw = world.raw
    admin, coordinator = world.token("admin"), world.token("coordinator")
    photo = jpeg(21)
    stored_a = upload(raw, upload_name(world.site_a, photo), photo, coordinator).body["name"]
    stored_b = upload(raw, upload_name(world.site_b, photo), photo, admin).body["name"]
    # Site B's file for a site A record, even with the same content: refused, like a file
    # that does not exist, whoever asks.
    for token in (coordinator, admin):
        for name in (stored_b, "0" * 32 + "_nothing.jpg"):
            a = raw.send("POST", "/classes/Evidence",
                         _evidence(world, world.site_a, name, photo), token=token)
            assert a.code == 142 and a.error.startswith("file: no such photo"), a.body
    # The statement about the file must be the stored file's.
    for wrong in ({"sha256": hashlib.sha256(b"other").hexdigest()}, {"mimeType": "image/png"},
                  {"byteSize": len(photo) + 1}):
        a = raw.send("POST", "/classes/Evidence",
                     _evidence(world, world.site_a, stored_a, photo, **wrong),
                     token=coordinator)
        field = next(iter(wrong))
        assert a.code == 142 and a.error.startswith(field), a.body
    ok = raw.send("POST", "/classes/Evidence", _evidence(world, world.site_a, stored_a, photo,
                                                         addedBy={"__type": "Pointer",
                                                                  "className": "_User",
                                                                  "objectId":
                                                                      world.ids["coordinator"]}),
                  token=coordinator)
    assert ok.status == 201, ok.body
    # Pointing it at another file later: the same checks.
    a = raw.send("PUT", f"/classes/Evidence/{ok.body['objectId']}",
                 {"file": {"__type": "File", "name": stored_b}}, token=coordinator)
    assert a.code == 142 and a.error.startswith("file: "), a.body
    # A caption is not a file change.
    a = raw.send("PUT", f"/classes/Evidence/{ok.body['objectId']}", {"caption": "drums"},
                 token=coordinator)
    assert a.ok, a.body
