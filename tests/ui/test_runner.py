"""The op runner: writes happen on one database writer, the window stays responsive, and an
unexpected failure reaches the log file with its traceback and the user as one dialog."""

from __future__ import annotations

import threading
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop_audit import logs, services
from desktop_audit.errors import ValidationError
from desktop_audit.records.evidence import MAX_BYTES
from desktop_audit.schema import BY_NAME, EVIDENCE
from desktop_audit.store import rows
from desktop_audit.ui.dialogs import error_dialog
from desktop_audit.ui.dialogs.record_form import RecordDialog
from desktop_audit.ui.runner import runner_for
from tests.conftest import World
from tests.ui.conftest import add_finding, finish


def _big_photo(path: Path) -> Path:
    """A 14 MP JPEG of about 19 MB (noise does not compress), under the 20 MiB limit."""
    channels = [Image.effect_noise((4200, 3300), 120) for _ in range(3)]
    Image.merge("RGB", channels).save(path, "JPEG", quality=96)
    assert 16_000_000 < path.stat().st_size <= MAX_BYTES, path.stat().st_size
    return path


def test_attaching_a_20_mb_photo_leaves_the_window_responsive(qtbot: QtBot, world: World,
                                                              tmp_path: Path) -> None:
    oid = add_finding(world)
    form = RecordDialog(world.db, world.auditor, BY_NAME["AuditFinding"], oid)
    qtbot.addWidget(form)
    form.show()
    panel = form.evidence
    assert panel is not None
    photo = _big_photo(tmp_path / "bund-wall.jpg")
    ticks = {"while attaching": 0}
    timer = QTimer()
    timer.setInterval(5)

    def tick() -> None:
        if op.running:
            ticks["while attaching"] += 1

    timer.timeout.connect(tick)
    op = panel.add_files([str(photo)])
    timer.start()
    finish(qtbot, op)
    timer.stop()
    # Hashing, copying and the thumbnail ran on the writer: the GUI thread kept turning.
    assert ticks["while attaching"] >= 3
    assert panel.problems == [] and panel.list.count() == 1
    stored = rows.select(world.db, EVIDENCE, {"parentId": oid})
    assert len(stored) == 1 and stored[0]["byteSize"] == photo.stat().st_size


def test_writes_from_every_window_go_through_one_thread(qtbot: QtBot, world: World) -> None:
    runner = runner_for(world.db)
    seen: list[tuple[int, str]] = []

    def job(_control: object) -> None:
        seen.append((threading.get_ident(), threading.current_thread().name))

    ops = [runner.write(job, title=f"write {n}") for n in range(5)]
    for op in ops:
        finish(qtbot, op)
    assert len(set(seen)) == 1 and seen[0][1] == "db-writer"  # one thread, every time
    assert seen[0][0] != threading.get_ident()  # not the GUI thread


def test_an_unexpected_failure_in_a_worker_reaches_the_log_with_its_traceback(
        qtbot: QtBot, world: World) -> None:
    def faulty_step(_control: object) -> None:
        raise RuntimeError("the disk said no")

    op = runner_for(world.db).write(faulty_step, title="a faulty step")
    failures: list[BaseException] = []
    op.failed.connect(failures.append)
    finish(qtbot, op)
    assert isinstance(failures[0], RuntimeError)  # the exception itself, not a string
    log = logs.log_path().read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in log
    assert "faulty_step" in log and "RuntimeError: the disk said no" in log
    assert "a faulty step" in log


def test_a_refusal_is_not_logged_as_a_failure(qtbot: QtBot, world: World) -> None:
    def refused(_control: object) -> None:
        raise ValidationError("kitTag", "is required")

    op = runner_for(world.db).write(refused, title="a refused save")
    finish(qtbot, op)
    assert isinstance(op.error, ValidationError)
    path = logs.log_path()
    assert not path.exists() or "is required" not in path.read_text(encoding="utf-8")


def test_the_error_dialog_copies_its_details(qtbot: QtBot, world: World) -> None:
    try:
        services.raise_finding  # noqa: B018 - a name to fail near
        raise KeyError("missing column")
    except KeyError as exc:
        error_dialog.show_error(exc, "opening a record")
    dialog = error_dialog.open_dialogs()[-1]
    qtbot.addWidget(dialog)
    assert "Something went wrong" in dialog.windowTitle()
    dialog.copy_button.click()
    copied = QApplication.clipboard().text()
    assert "KeyError: 'missing column'" in copied and "Traceback" in copied
    assert "desktop-audit" in copied
    assert "opening a record" in logs.log_path().read_text(encoding="utf-8")


def test_emitting_a_signal_keeps_the_interpreter_whole() -> None:
    """PySide6 6.12.0's Signal.emit returned True without a reference of its own: every emit
    took one of True's, and after some hundreds the program aborted ("deallocating True").
    The app emits on every save, attach and keystroke; the pinned PySide6 must not."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        happened = Signal()

    emitter = Emitter()
    emitter.happened.connect(lambda: None)
    before = sys.getrefcount(True)
    for _ in range(200):
        emitter.happened.emit()
    assert sys.getrefcount(True) >= before
