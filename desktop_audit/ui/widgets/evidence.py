"""Photo evidence on a record: add by file dialog or drag and drop, thumbnails, full size,
captions, delete (an admin).  The services store each file once by SHA-256 and refuse
anything not a photo; what the buttons allow is asked of the Evidence record type."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QIcon, QImage, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop_audit import services
from desktop_audit.errors import AuditError
from desktop_audit.records.evidence import EVIDENCE_TYPE
from desktop_audit.schema import EVIDENCE
from desktop_audit.services import evidence as evidence_service
from desktop_audit.ui.dialogs.error_dialog import show_error as show_unexpected
from desktop_audit.ui.runner import Op, runner_for

THUMB = 160


def thumbnails(db: Any, class_name: str, object_id: str) -> list[tuple[dict[str, Any], QImage]]:
    """A record's photos with their thumbnails (runs off the GUI thread: a QImage may be
    made on any thread, and a JPEG is decoded straight at thumbnail size)."""
    out = []
    for ev in evidence_service.for_record(db, class_name, object_id):
        reader = QImageReader(str(evidence_service.blob_path(db, ev["sha256"], ev["mimeType"])))
        reader.setAutoTransform(True)
        size = reader.size()
        if size.isValid():
            reader.setScaledSize(size.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio))
        out.append((ev, reader.read()))
    return out


class PhotoViewer(QDialog):
    def __init__(self, path: Path, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(caption or path.name)
        box = QVBoxLayout(self)
        area = QScrollArea()
        label = QLabel()
        pix = QPixmap(str(path))
        label.setPixmap(pix)
        area.setWidget(label)
        area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(area)
        if caption:
            box.addWidget(QLabel(caption))
        self.resize(min(pix.width() + 40, 1200), min(pix.height() + 80, 900))


class EvidencePanel(QWidget):
    changed = Signal()

    def __init__(self, db: Any, actor: Any, class_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.actor = actor
        self.class_name = class_name
        self.object_id: str | None = None
        self.site_id: str | None = None
        self.photos: dict[str, dict[str, Any]] = {}
        self.problems: list[str] = []  # the refusals of the last change
        self.ops: list[Op] = []
        self.setAcceptDrops(True)
        box = QVBoxLayout(self)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        box.addWidget(self.hint)
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(THUMB + 24, THUMB + 44))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(self._open)
        self.list.itemDoubleClicked.connect(self._open)
        box.addWidget(self.list)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add photos…")
        self.add_button.clicked.connect(self._choose)
        self.caption_button = QPushButton("Edit caption…")
        self.caption_button.clicked.connect(self._caption)
        self.delete_button = QPushButton("Delete photo…")
        self.delete_button.clicked.connect(self._delete)
        self.list.currentItemChanged.connect(lambda _now, _before: self._selected())
        row.addWidget(self.add_button)
        row.addWidget(self.caption_button)
        row.addWidget(self.delete_button)
        row.addStretch(1)
        box.addLayout(row)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b02a37;")
        box.addWidget(self.message)

    def load(self, object_id: str | None, site_id: str | None) -> Op | None:
        """Show a record's photos; the thumbnails are made off the GUI thread."""
        self.object_id = object_id
        self.site_id = site_id
        allowed, reason = EVIDENCE_TYPE.can(self.actor, "create", None,
                                            {EVIDENCE.site_field or "site": site_id})
        if object_id is None:
            allowed, reason = False, "save the record first, then attach photos"
        self.add_button.setEnabled(allowed)
        self.add_button.setToolTip(reason or "JPEG or PNG, up to 20 MB; or drop files here")
        self.setAcceptDrops(allowed)
        if object_id is None:
            self._show([])
            self.hint.setText("Save the record first, then attach photos.")
            return None
        db, class_name = self.db, self.class_name
        op = runner_for(db).read(lambda _c: thumbnails(db, class_name, object_id),
                                 title="reading photos", parent=self)
        op.succeeded.connect(self._show)
        self._track(op)
        return op

    def _track(self, op: Op) -> None:
        self.ops.append(op)
        op.ended.connect(lambda: self.ops.remove(op) if op in self.ops else None)

    @property
    def busy(self) -> bool:
        return bool(self.ops)

    def _show(self, found: list[tuple[dict[str, Any], QImage]]) -> None:
        self.list.clear()
        self.photos = {ev["objectId"]: ev for ev, _image in found}
        if self.object_id is not None:
            self.hint.setText(f"{len(found)} photos. Drop JPEG or PNG files here or use Add "
                              "photos; double-click a photo to see it full size.")
        for ev, image in found:
            path = evidence_service.blob_path(self.db, ev["sha256"], ev["mimeType"])
            icon = QIcon(QPixmap.fromImage(image)) if not image.isNull() else QIcon()
            item = QListWidgetItem(icon, ev.get("caption") or ev["fileName"])
            item.setData(Qt.ItemDataRole.UserRole, ev["objectId"])
            item.setData(Qt.ItemDataRole.UserRole + 1, str(path))
            item.setToolTip(f"{ev['fileName']} · {(ev.get('byteSize') or 0) / 1024:.0f} KB")
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)  # the caption and delete buttons act on it
        self._selected()

    def current_photo(self) -> dict[str, Any] | None:
        item = self.list.currentItem()
        return self.photos.get(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def _selected(self) -> None:
        """The caption and delete buttons follow the selected photo (and who may change it)."""
        photo = self.current_photo()
        if photo is None:
            self.caption_button.setEnabled(False)
            self.caption_button.setToolTip("Select a photo first")
            self.delete_button.setEnabled(False)
            self.delete_button.setVisible(False)
            return
        for button, action, what in ((self.caption_button, "edit", "Change the photo's caption"),
                                     (self.delete_button, "delete", "Delete the photo (it stays "
                                                                    "in the audit trail)")):
            allowed, reason = EVIDENCE_TYPE.can(self.actor, action, photo)
            button.setEnabled(allowed)
            button.setToolTip(what if allowed else reason)
        self.delete_button.setVisible(self.delete_button.isEnabled())  # an admin's

    def _write(self, work: Callable[[], list[str]], title: str) -> Op:
        """Run a change of the photos on the database writer, then show them again (the
        hashing, copying and thumbnails of a 12 MP photo never hold up the window)."""
        db, class_name, object_id = self.db, self.class_name, self.object_id

        def job(_control: Any) -> tuple[list[str], list[tuple[dict[str, Any], QImage]]]:
            problems = work()
            shown = thumbnails(db, class_name, object_id) if object_id else []
            return problems, shown

        self.message.setText("Working…")
        op = runner_for(self.db).write(job, title=title, parent=self)
        op.succeeded.connect(self._written)
        op.failed.connect(lambda exc: self._failed(exc, title))
        self._track(op)
        return op

    def _written(self, result: tuple[list[str], list[tuple[dict[str, Any], QImage]]]) -> None:
        problems, shown = result
        self.problems = problems
        self.message.setText("\n".join(problems))
        self._show(shown)
        self.changed.emit()

    def _failed(self, exc: BaseException, title: str) -> None:
        if isinstance(exc, AuditError):
            self.problems = [str(exc)]
            self.message.setText(str(exc))
        else:
            self.message.setText("")
            show_unexpected(exc, title, self)

    def add_files(self, paths: list[str]) -> Op:
        """Attach each file (off the GUI thread); ``problems`` then holds the messages of
        those refused."""
        db, actor, class_name, object_id = self.db, self.actor, self.class_name, self.object_id

        def attach() -> list[str]:
            problems = []
            for p in paths:
                try:
                    services.add_evidence(db, actor, parentClass=class_name, parentId=object_id,
                                          path=p)
                except AuditError as exc:
                    problems.append(str(exc).removeprefix("file: "))
            return problems

        return self._write(attach, "attaching photos")

    def _choose(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add photos", str(Path.home()),
                                                "Photos (*.jpg *.jpeg *.png);;All files (*)")
        if files:
            self.add_files(files)

    def _open(self, item: QListWidgetItem) -> None:
        PhotoViewer(Path(item.data(Qt.ItemDataRole.UserRole + 1)), item.text(), self).exec()

    def _caption(self) -> None:
        item = self.list.currentItem()
        if item is None:
            self.message.setText("Select a photo first.")
            return
        text, ok = QInputDialog.getText(self, "Caption", "Caption:", text=item.text())
        if ok:
            self.set_caption(item.data(Qt.ItemDataRole.UserRole), text)

    def set_caption(self, evidence_id: str, text: str) -> Op:
        db, actor = self.db, self.actor

        def change() -> list[str]:
            services.update_caption(db, actor, evidence_id, text or None)
            return []

        return self._write(change, "changing a caption")

    def _delete(self) -> None:
        photo = self.current_photo()
        if photo is None or QMessageBox.question(
                self, "Delete photo", "Delete this photo? It stays in the audit trail."
        ) != QMessageBox.StandardButton.Yes:
            return
        self.delete_photo(photo["objectId"])

    def delete_photo(self, evidence_id: str) -> Op:
        db, actor = self.db, self.actor

        def delete() -> list[str]:
            services.delete_record(db, actor, EVIDENCE.name, evidence_id)
            return []

        return self._write(delete, "deleting a photo")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and self.object_id:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.add_files(paths)
            event.acceptProposedAction()
