"""UI fixtures: a data folder per test (window settings land there), records on site A."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from desktop_audit import services
from desktop_audit.ui.dialogs.record_form import RecordDialog
from desktop_audit.ui.runner import Op
from tests.conftest import World

TODAY = date.today()


@pytest.fixture(autouse=True)
def _ui_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DESKTOP_AUDIT_HOME", str(tmp_path / "home"))
    yield


def finish(qtbot: QtBot, op: Op | None) -> Op:
    """Wait until a background op (a save, an attach, a workflow step) has ended and its
    signals have reached the widgets."""
    assert op is not None, "the action did not start"
    qtbot.waitUntil(lambda: op.delivered, timeout=60_000)
    return op


def click_save(qtbot: QtBot, form: RecordDialog) -> None:
    """Click Save and wait until the form has saved (or shown why not)."""
    form.save_button.click()
    qtbot.waitUntil(lambda: not form.saving, timeout=60_000)
    qtbot.wait(0)


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)


def add_aspect(w: World, *, by: str = "admin", site: str | None = None, likelihood: int = 2,
               severity: int = 3, status: str = "open", text: str = "Oily rags") -> str:
    return services.add_aspect(w.db, w.actor(by), site=site or w.site_a, aspectCategory="waste",
                               aspectDescription=text, impact="Hazardous waste",
                               likelihood=likelihood, severity=severity, actionStatus=status,
                               **({"loggedBy": w.actor(by).id} if by == "admin" else {}))


def add_legal(w: World, *, code: str = "EPA-34", due_in: int = 30,
              status: str = "compliant", site: str | None = None) -> str:
    return services.add_legal_entry(w.db, w.admin, site=site or w.site_a, referenceCode=code,
                                    requirementTitle="Duty of care", requirementType="legislation",
                                    jurisdiction="England", reviewFrequency="annual",
                                    dueDate=(TODAY + timedelta(days=due_in)).isoformat(),
                                    complianceStatus=status, owner=w.coordinator.id)


def add_finding(w: World, *, severity: str = "minor_nc", text: str = "Drum store unlabelled",
                site: str | None = None, due_in: int | None = 14, **extra: object) -> str:
    values: dict[str, object] = dict(site=site or w.site_a, logType="general", severity=severity,
                                     description=text, correctiveAction="Label the drums")
    if due_in is not None:
        values["dueDate"] = (TODAY + timedelta(days=due_in)).isoformat()
    values.update(extra)
    return services.raise_finding(w.db, w.admin, **values)
