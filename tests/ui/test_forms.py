"""Record forms built from the schema: create, edit, live derived fields, messages at the field,
refusals per role, and the workflows (close, evaluate, approve, assign)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop_audit import config, services
from desktop_audit.records.legal import next_due
from desktop_audit.schema import BY_NAME
from desktop_audit.store import rows
from desktop_audit.ui.dialogs import workflows as wf
from desktop_audit.ui.dialogs.record_form import RecordDialog
from tests.conftest import World
from tests.ui.conftest import add_aspect, add_finding, add_legal, click_save, finish


def form(qtbot: QtBot, w: World, role: str, cls: str, oid: str | None = None,
         **defaults: object) -> RecordDialog:
    dialog = RecordDialog(w.db, w.actor(role), BY_NAME[cls], oid, defaults=dict(defaults))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def count(w: World, cls: str) -> int:
    return rows.count(w.db, BY_NAME[cls])


def test_create_an_aspect_and_watch_the_risk_derive_live(qtbot: QtBot, world: World) -> None:
    dlg = form(qtbot, world, "coordinator", "AspectImpactLog")
    e = dlg.editors
    e["site"].set_value(world.site_a)
    e["aspectCategory"].set_value("releases_to_land")
    qtbot.keyClicks(e["aspectDescription"].focus_widget(), "Diesel dispensing")
    qtbot.keyClicks(e["impact"].focus_widget(), "Soil contamination")
    e["likelihood"].set_value(4)
    assert e["riskRating"].edit.text() == "–"
    e["severity"].set_value(4)
    assert e["riskRating"].edit.text() == "16"
    assert e["impactRating"].edit.text() == "Critical"
    assert e["significant"].edit.text() == "Yes"
    click_save(qtbot, dlg)
    assert dlg.object_id is not None
    saved = rows.load(world.db, BY_NAME["AspectImpactLog"], dlg.object_id)
    assert saved["aspectDescription"] == "Diesel dispensing"
    assert saved["riskRating"] == 16 and saved["significant"] is True
    assert saved["loggedBy"] == world.coordinator.id
    assert "Saved" in dlg.status.text()


def test_a_required_number_left_blank_is_reported_at_its_field(qtbot: QtBot, world: World) -> None:
    dlg = form(qtbot, world, "auditor", "AspectImpactLog")
    e = dlg.editors
    e["site"].set_value(world.site_a)
    e["aspectCategory"].set_value("waste")
    e["aspectDescription"].set_value("Oily rags")
    e["impact"].set_value("Hazardous waste")
    e["severity"].set_value(2)
    click_save(qtbot, dlg)
    assert dlg.object_id is None
    assert count(world, "AspectImpactLog") == 0
    assert dlg.errors["likelihood"].isVisible()
    assert dlg.errors["likelihood"].text() == "Is required"
    assert "likelihood" in dlg.banner.text()
    e["likelihood"].set_value(3)
    assert not dlg.errors["likelihood"].isVisible()
    click_save(qtbot, dlg)
    assert count(world, "AspectImpactLog") == 1


def test_edit_a_legal_entry_and_see_it_in_the_history(qtbot: QtBot, world: World) -> None:
    oid = add_legal(world)
    dlg = form(qtbot, world, "coordinator", "LegalRegisterEntry", oid)
    dlg.editors["jurisdiction"].set_value("Scotland")
    click_save(qtbot, dlg)
    assert rows.load(world.db, BY_NAME["LegalRegisterEntry"], oid)["jurisdiction"] == "Scotland"
    assert dlg.history is not None
    tree = dlg.history.tree
    last = tree.topLevelItem(tree.topLevelItemCount() - 1)
    assert last.text(2) == "Edited" and last.text(1) == "coordinator"
    change = last.child(0)
    assert (change.text(2), change.text(3), change.text(4)) == ("Jurisdiction", "England",
                                                                 "Scotland")


def test_field_staff_cannot_edit_someone_elses_entry(qtbot: QtBot, world: World) -> None:
    oid = add_aspect(world, by="admin")
    dlg = form(qtbot, world, "field_staff", "AspectImpactLog", oid)
    assert not dlg.save_button.isEnabled()
    assert "may only edit their own entries" in dlg.save_button.toolTip()
    assert "Read only" in dlg.banner.text()


def test_field_staff_may_raise_observations_only(qtbot: QtBot, world: World) -> None:
    dlg = form(qtbot, world, "field_staff", "AuditFinding")
    e = dlg.editors
    assert e["severity"].value() == "observation"
    e["site"].set_value(world.site_a)
    e["severity"].set_value("major_nc")
    e["description"].set_value("Bund wall cracked")
    e["correctiveAction"].set_value("Repair")
    click_save(qtbot, dlg)
    assert dlg.object_id is None
    assert "field staff may raise observations only" in dlg.banner.text()
    e["severity"].set_value("observation")
    click_save(qtbot, dlg)
    assert dlg.object_id is not None


def test_a_coordinator_cannot_close_or_approve(qtbot: QtBot, world: World) -> None:
    oid = add_finding(world)
    dlg = form(qtbot, world, "coordinator", "AuditFinding", oid)
    button = dlg.workflow_button("close")
    assert button is not None and not button.isEnabled()
    assert "a coordinator may not close findings" in button.toolTip()


def test_the_spill_kit_checklist_derives_replenishment(qtbot: QtBot, world: World) -> None:
    dlg = form(qtbot, world, "field_staff", "SpillKitLog")
    e = dlg.editors
    e["site"].set_value(world.site_a)
    e["kitTag"].set_value("SK-9")
    e["sealStatus"].set_value("intact")
    assert e["replenishmentNeeded"].edit.text() == "No"
    checklist = e["missingItems"]
    checklist.tick("gloves")
    assert e["replenishmentNeeded"].edit.text() == "Yes"
    e["inspectionStatus"].set_value("pass")
    assert dlg.errors["inspectionStatus"].isVisible()
    assert "cannot pass" in dlg.errors["inspectionStatus"].text()
    e["inspectionStatus"].set_value("needs_attention")
    click_save(qtbot, dlg)
    saved = rows.load(world.db, BY_NAME["SpillKitLog"], dlg.object_id)
    assert saved["missingItems"] == ["gloves"] and saved["replenishmentNeeded"] is True
    assert saved["checkedBy"] == world.field_staff.id


def test_closing_is_blocked_until_every_rule_holds(qtbot: QtBot, world: World) -> None:
    aspect = add_aspect(world, status="open")
    oid = add_finding(world, logType="aspect", sourceId=aspect, severity="major_nc",
                      actionOwner=world.coordinator.id)
    finding = rows.load(world.db, BY_NAME["AuditFinding"], oid)
    dlg = wf.CloseFindingDialog(world.db, world.manager, finding)
    qtbot.addWidget(dlg)
    assert not dlg.close_button.isEnabled()
    text = dlg.rules.text()
    assert "root cause is required" in text and "verification" in text
    assert "action status is open" in text
    dlg.root.setPlainText("No labelling procedure")
    dlg.verification.setPlainText("Checked all drums on 2 visits")
    assert not dlg.close_button.isEnabled()
    assert "root cause" not in dlg.rules.text()
    services.update_aspect(world.db, world.admin, aspect, actionStatus="controlled")
    dlg.check()
    assert dlg.close_button.isEnabled()
    assert "Every closing rule holds" in dlg.rules.text()
    dlg.close_button.click()
    finish(qtbot, dlg.op)
    closed = rows.load(world.db, BY_NAME["AuditFinding"], oid)
    assert closed["closed"] is True and closed["closedBy"] == world.manager.id


def test_record_a_legal_evaluation_moves_the_due_date(qtbot: QtBot, world: World) -> None:
    oid = add_legal(world, due_in=-5, status="not_assessed")
    entry = rows.load(world.db, BY_NAME["LegalRegisterEntry"], oid)
    dlg = wf.EvaluationDialog(world.db, world.coordinator, entry)
    qtbot.addWidget(dlg)
    dlg.status.setCurrentIndex(dlg.status.findData("compliant"))
    expected = next_due(date.today(), "annual").isoformat()
    assert expected in dlg.next_label.text()
    finish(qtbot, dlg.submit())
    after = rows.load(world.db, BY_NAME["LegalRegisterEntry"], oid)
    assert after["dueDate"] == expected
    assert after["complianceStatus"] == "compliant"
    assert after["lastEvaluatedAt"] == date.today().isoformat()


def test_approve_a_completed_review(qtbot: QtBot, world: World) -> None:
    rid = services.plan_review(world.db, world.admin, site=world.site_a,
                               auditDate=(date.today() - timedelta(days=3)).isoformat(),
                               leadAuditor=world.auditor.id, scope="Waste")
    services.update_review(world.db, world.admin, rid, reviewStatus="completed")
    coord = form(qtbot, world, "coordinator", "AuditReview", rid)
    button = coord.workflow_button("approve")
    assert not button.isEnabled() and "may not approve" in button.toolTip()
    mgr = form(qtbot, world, "manager", "AuditReview", rid)
    assert mgr.workflow_button("approve").isEnabled()
    dlg = wf.ApproveDialog(world.db, world.manager, mgr.record)
    qtbot.addWidget(dlg)
    dlg.summary.setPlainText("Programme on track")
    finish(qtbot, dlg.submit())
    assert rows.load(world.db, BY_NAME["AuditReview"], rid)["reviewStatus"] == "approved"
    mgr.after_workflow()
    assert not mgr.save_button.isEnabled()
    assert "approved review can no longer be edited" in mgr.save_button.toolTip()


def test_assign_a_user_to_sites(qtbot: QtBot, world: World) -> None:
    user = rows.load(world.db, BY_NAME["User"], world.auditor.id)
    dlg = wf.AssignSitesDialog(world.db, world.admin, user)
    qtbot.addWidget(dlg)
    for i in range(dlg.list.count()):
        dlg.list.item(i).setCheckState(Qt.CheckState.Checked)
    finish(qtbot, dlg.submit())
    after = rows.load(world.db, BY_NAME["User"], world.auditor.id)
    assert set(after["sites"]) == {world.site_a, world.site_b}


def test_photos_attach_and_non_images_are_refused(qtbot: QtBot, world: World,
                                                 tmp_path: Path) -> None:
    oid = add_finding(world)
    dlg = form(qtbot, world, "auditor", "AuditFinding", oid)
    panel = dlg.evidence
    assert panel is not None and panel.add_button.isEnabled()
    photo = next(config.asset_path("demo_photos").glob("*.jpg"))
    finish(qtbot, panel.add_files([str(photo)]))
    assert panel.problems == []
    assert panel.list.count() == 1
    note = tmp_path / "notes.txt"
    note.write_text("not a photo")
    finish(qtbot, panel.add_files([str(note)]))
    assert panel.problems and "not a JPEG or PNG photo" in panel.message.text()
    assert panel.list.count() == 1
    evidence_id = panel.list.item(0).data(Qt.ItemDataRole.UserRole)
    finish(qtbot, panel.set_caption(evidence_id, "Drums in the rain"))
    assert panel.list.item(0).text() == "Drums in the rain"


def test_a_new_record_has_no_photos_until_saved(qtbot: QtBot, world: World) -> None:
    dlg = form(qtbot, world, "auditor", "AuditFinding")
    assert dlg.evidence is not None and not dlg.evidence.add_button.isEnabled()
    assert "save the record first" in dlg.evidence.add_button.toolTip()


def test_create_a_site_and_a_manager_cannot_edit_anothers(qtbot: QtBot, world: World) -> None:
    dlg = form(qtbot, world, "admin", "AuditSite")
    e = dlg.editors
    e["siteCode"].set_value("WH-09")
    e["siteName"].set_value("Warehouse Nine")
    e["region"].set_value("Midlands")
    e["siteOwner"].set_value(world.manager.id)
    assert e["significanceThreshold"].value() == 12  # the schema's default
    click_save(qtbot, dlg)
    assert dlg.object_id is not None
    assert rows.load(world.db, BY_NAME["AuditSite"], dlg.object_id)["siteName"] == "Warehouse Nine"
    again = form(qtbot, world, "admin", "AuditSite")
    again.editors["siteCode"].set_value("wh-09")
    again.editors["siteName"].set_value("Clash")
    again.editors["region"].set_value("X")
    again.editors["siteOwner"].set_value(world.manager.id)
    click_save(qtbot, again)
    assert again.errors["siteCode"].isVisible()
    assert "already used" in again.errors["siteCode"].text()
    other = form(qtbot, world, "manager", "AuditSite", world.site_b)
    assert not other.save_button.isEnabled()
    assert "only edit sites they own" in other.save_button.toolTip()


def test_an_admin_creates_a_user_with_a_password(qtbot: QtBot, world: World) -> None:
    dlg = form(qtbot, world, "admin", "User")
    e = dlg.editors
    e["username"].set_value("newauditor")
    e["email"].set_value("new@example.com")
    e["role"].set_value("auditor")
    assert dlg.password is not None
    dlg.password.setText("short")
    click_save(qtbot, dlg)
    assert dlg.object_id is None
    assert "at least 8 characters" in dlg.errors["password"].text()
    dlg.password.setText("long-enough-pass")
    click_save(qtbot, dlg)
    assert dlg.object_id is not None
    from desktop_audit.domain import auth

    actor = auth.login(world.db, "newauditor", "long-enough-pass")
    assert actor.role == "auditor"


def test_an_auditor_plans_a_review_they_lead(qtbot: QtBot, world: World) -> None:
    dlg = form(qtbot, world, "auditor", "AuditReview")
    e = dlg.editors
    assert e["leadAuditor"].value() == world.auditor.id
    e["site"].set_value(world.site_a)
    e["scope"].set_value("Waste and spill response")
    click_save(qtbot, dlg)
    review = rows.load(world.db, BY_NAME["AuditReview"], dlg.object_id)
    assert review["reviewStatus"] == "planned" and review["leadAuditor"] == world.auditor.id
    led_by_other = form(qtbot, world, "auditor", "AuditReview")
    led_by_other.editors["site"].set_value(world.site_a)
    led_by_other.editors["leadAuditor"].set_value(world.coordinator.id)
    click_save(qtbot, led_by_other)
    assert led_by_other.object_id is None
    assert "reviews they lead" in led_by_other.banner.text()


def test_photos_can_be_dropped_on_the_record(qtbot: QtBot, world: World) -> None:
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    oid = add_aspect(world)
    dlg = form(qtbot, world, "coordinator", "AspectImpactLog", oid)
    panel = dlg.evidence
    assert panel is not None
    photo = next(config.asset_path("demo_photos").glob("*.png"))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(event)
    qtbot.waitUntil(lambda: panel.list.count() == 1)  # attached on the database writer
    assert panel.list.item(0).text() == photo.name


@pytest.mark.parametrize(("keep", "typed", "how", "after"), [
    ("mine", None, "kept this laptop's value 'Fit a padlock' (the server had 'Weld the valve "
     "shut')", "(unchanged)"),
    ("theirs", None, "kept the server's value 'Weld the valve shut' (this laptop had 'Fit a "
     "padlock')", "Weld the valve shut"),
    ("edit", "Padlock and sign", "typed a new value 'Padlock and sign' (this laptop had 'Fit a "
     "padlock', the server had 'Weld the valve shut')", "Padlock and sign"),
])
def test_a_settled_conflict_says_which_value_stands(qtbot: QtBot, world: World, keep: str,
                                                    typed: str | None, how: str,
                                                    after: str) -> None:
    from desktop_audit.store import sync_state

    fid = add_finding(world)
    services.update_finding(world.db, world.admin, fid, correctiveAction="Fit a padlock")
    # What a sync records when the same field changed on this laptop and on the server.
    sync_state.record_conflict(world.db, "AuditFinding", fid, "correctiveAction", "Fit a padlock",
                               "Weld the valve shut", "Label the drums", "2026-11-27T10:00:00.000Z")
    conflict = sync_state.conflicts(world.db)[0]
    services.resolve_conflict(world.db, world.manager, conflict.id, keep, typed)
    dlg = form(qtbot, world, "manager", "AuditFinding", fid)
    assert dlg.history is not None
    tree = dlg.history.tree
    last = tree.topLevelItem(tree.topLevelItemCount() - 1)
    assert last.text(2) == "Conflict resolved" and last.text(1) == "manager"
    lines = [last.child(i) for i in range(last.childCount())]
    assert len(lines) == 1  # the settled field, and no "conflict" pseudo-field
    line = lines[0]
    assert line.text(2) == f"Conflict on Corrective action settled: {how}"
    assert (line.text(3), line.text(4)) == ("Fit a padlock", after)
    record = rows.load(world.db, BY_NAME["AuditFinding"], fid)
    assert record["correctiveAction"] == {"mine": "Fit a padlock", "theirs": "Weld the valve shut",
                                          "edit": typed}[keep]


def test_a_new_site_starts_in_the_laptops_time_zone_and_a_wrong_zone_is_refused(
        qtbot: QtBot, world: World) -> None:
    from desktop_audit import clock
    from desktop_audit.ui.widgets.editors import ZoneEditor

    dlg = form(qtbot, world, "admin", "AuditSite")
    zone = dlg.editors["timeZone"]
    assert isinstance(zone, ZoneEditor) and zone.value() == clock.local_zone_name()
    assert zone.combo.completer().completionCount() > 300  # every IANA zone is offered
    for name, value in (("siteCode", "TZ-01"), ("siteName", "Tokyo yard"), ("region", "Kanto"),
                        ("siteOwner", world.manager.id)):
        dlg.editors[name].set_value(value)
    zone.set_value("Asia/Tokio")
    assert dlg.errors["timeZone"].isVisible()  # said while typing, by the site's own check
    assert "is not a time zone" in dlg.errors["timeZone"].text()
    click_save(qtbot, dlg)
    assert dlg.object_id is None
    zone.set_value("Asia/Tokyo")
    assert not dlg.errors["timeZone"].isVisible()
    click_save(qtbot, dlg)
    assert rows.load(world.db, BY_NAME["AuditSite"], dlg.object_id)["timeZone"] == "Asia/Tokyo"


def test_every_problem_is_shown_at_its_field(qtbot: QtBot, world: World) -> None:
    dlg = form(qtbot, world, "coordinator", "AspectImpactLog")
    dlg.editors["site"].set_value(world.site_a)
    click_save(qtbot, dlg)
    shown = {name for name, label in dlg.errors.items() if label.isVisible()}
    assert {"aspectCategory", "aspectDescription", "impact", "likelihood", "severity"} <= shown
    assert dlg.banner.text().startswith("Not saved: ") and "impact: is required" in dlg.banner.text()


def test_when_an_entry_was_logged_is_not_edited_afterwards(qtbot: QtBot, world: World) -> None:
    from desktop_audit.ui.widgets.editors import DateTimeEditor, ReadOnlyEditor

    new = form(qtbot, world, "coordinator", "AspectImpactLog")
    assert isinstance(new.editors["loggedAt"], DateTimeEditor)
    oid = add_aspect(world)
    existing = RecordDialog(world.db, world.coordinator, BY_NAME["AspectImpactLog"], oid)
    qtbot.addWidget(existing)  # not shown: closing it asks nothing
    assert isinstance(existing.editors["loggedAt"], ReadOnlyEditor)
    existing.editors["impact"].set_value("Soil")
    assert existing.values() == {"impact": "Soil"}


def test_an_admin_deletes_a_photo_and_others_are_not_offered_it(qtbot: QtBot, world: World) -> None:
    oid = add_finding(world)
    photo = next(config.asset_path("demo_photos").glob("*.jpg"))
    services.add_evidence(world.db, world.admin, parentClass="AuditFinding", parentId=oid,
                         path=photo)
    auditor = form(qtbot, world, "auditor", "AuditFinding", oid).evidence
    assert auditor is not None
    qtbot.waitUntil(lambda: auditor.list.count() == 1)  # thumbnails come from a worker
    assert auditor.caption_button.isEnabled()
    assert auditor.delete_button.isHidden()
    admin = form(qtbot, world, "admin", "AuditFinding", oid).evidence
    assert admin is not None
    qtbot.waitUntil(lambda: admin.list.count() == 1)
    assert admin.delete_button.isEnabled()
    finish(qtbot, admin.delete_photo(admin.current_photo()["objectId"]))
    assert admin.list.count() == 0


def test_a_finding_raised_from_a_review_is_about_it(qtbot: QtBot, world: World) -> None:
    rid = services.plan_review(world.db, world.admin, site=world.site_a,
                               auditDate=date.today().isoformat(), leadAuditor=world.auditor.id)
    review = form(qtbot, world, "auditor", "AuditReview", rid)
    assert wf.finding_about(review) == {"site": world.site_a, "logType": "review",
                                        "sourceId": rid, "review": rid}
    button = review.workflow_button("raise_finding")
    assert button is not None and button.isEnabled()
    raised = wf.open_form(review, "AuditFinding", defaults=wf.finding_about(review))
    qtbot.addWidget(raised)
    assert raised.editors["sourceId"].value() == rid and raised.editors["review"].value() == rid
    assert "Review " in raised.editors["sourceId"].combo.currentText()
    raised.editors["severity"].set_value("observation")
    raised.editors["description"].set_value("No waste register")
    raised.editors["correctiveAction"].set_value("Start one")
    click_save(qtbot, raised)
    saved = rows.load(world.db, BY_NAME["AuditFinding"], raised.object_id)
    assert (saved["logType"], saved["sourceId"], saved["review"]) == ("review", rid, rid)


def test_the_close_checklist_links_to_the_record_that_must_change(qtbot: QtBot,
                                                                  world: World) -> None:
    aspect = add_aspect(world, status="open")
    oid = add_finding(world, logType="aspect", sourceId=aspect, rootCause="No procedure",
                      verificationNote="Checked")
    dlg = wf.CloseFindingDialog(world.db, world.manager,
                                rows.load(world.db, BY_NAME["AuditFinding"], oid))
    qtbot.addWidget(dlg)
    assert f"href='AspectImpactLog/{aspect}'" in dlg.rules.text()
    with qtbot.waitSignal(dlg.open_record) as opened:
        dlg.rules.linkActivated.emit(f"AspectImpactLog/{aspect}")
    assert opened.args == ["AspectImpactLog", aspect]
