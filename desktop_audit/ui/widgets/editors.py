"""One editor widget per schema field kind; each reads and writes the stored form of a value."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import datetime
from typing import Any

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDateTimeEdit,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_audit import clock
from desktop_audit.schema import Field
from desktop_audit.ui import format as fmt

NOT_SET = QDate(1900, 1, 1)


class Editor(QWidget):
    """A field's editor: ``value()`` is what the services get, ``set_value`` shows a stored value."""

    changed = Signal()

    def __init__(self, f: Field, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = f
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def set_read_only(self, read_only: bool) -> None:
        self.setEnabled(not read_only)

    def focus_widget(self) -> QWidget:
        return self


class LineEditor(Editor):
    def __init__(self, f: Field, parent: QWidget | None = None) -> None:
        super().__init__(f, parent)
        self.edit = QLineEdit()
        if f.max_length:
            self.edit.setMaxLength(f.max_length)
        if f.help:
            self.edit.setPlaceholderText(f.help)
        self.edit.textChanged.connect(self.changed)
        self.layout_.addWidget(self.edit)

    def value(self) -> Any:
        return self.edit.text().strip() or None

    def set_value(self, value: Any) -> None:
        self.edit.setText("" if value is None else str(value))

    def set_read_only(self, read_only: bool) -> None:
        self.edit.setReadOnly(read_only)

    def focus_widget(self) -> QWidget:
        return self.edit


class TextEditor(Editor):
    def __init__(self, f: Field, parent: QWidget | None = None) -> None:
        super().__init__(f, parent)
        self.edit = QPlainTextEdit()
        self.edit.setTabChangesFocus(True)
        self.edit.setFixedHeight(64)
        if f.help:
            self.edit.setPlaceholderText(f.help)
        self.edit.textChanged.connect(self.changed)
        self.layout_.addWidget(self.edit)

    def value(self) -> Any:
        return self.edit.toPlainText().strip() or None

    def set_value(self, value: Any) -> None:
        self.edit.setPlainText("" if value is None else str(value))

    def set_read_only(self, read_only: bool) -> None:
        self.edit.setReadOnly(read_only)

    def focus_widget(self) -> QWidget:
        return self.edit


class IntEditor(Editor):
    """A spin box whose lowest step reads '–' (not set), so a required number left blank is caught
    by the rules and reported at the field."""

    def __init__(self, f: Field, parent: QWidget | None = None) -> None:
        super().__init__(f, parent)
        self.spin = QSpinBox()
        low = f.minimum if f.minimum is not None else 0
        self.unset = low - 1
        self.spin.setRange(self.unset, f.maximum if f.maximum is not None else 1_000_000)
        self.spin.setSpecialValueText("–")
        self.spin.setValue(self.unset)
        self.spin.setMinimumWidth(90)
        self.spin.valueChanged.connect(self.changed)
        self.layout_.addWidget(self.spin)
        self.layout_.addStretch(1)

    def value(self) -> Any:
        v = self.spin.value()
        return None if v == self.unset else v

    def set_value(self, value: Any) -> None:
        self.spin.setValue(self.unset if value is None else int(value))

    def set_read_only(self, read_only: bool) -> None:
        self.spin.setReadOnly(read_only)

    def focus_widget(self) -> QWidget:
        return self.spin


class BoolEditor(Editor):
    def __init__(self, f: Field, parent: QWidget | None = None) -> None:
        super().__init__(f, parent)
        self.box = QCheckBox()
        self.box.toggled.connect(self.changed)
        self.layout_.addWidget(self.box)
        self.layout_.addStretch(1)

    def value(self) -> Any:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        self.box.setChecked(bool(value))

    def focus_widget(self) -> QWidget:
        return self.box


class ChoiceEditor(Editor):
    """A drop-down of (label, stored value) pairs; a blank entry when the field is optional."""

    def __init__(self, f: Field, choices: list[tuple[str, Any]], parent: QWidget | None = None,
                 *, blank: bool | None = None) -> None:
        super().__init__(f, parent)
        self.combo = QComboBox()
        self.combo.setMinimumWidth(220)
        self.blank = (not f.required) if blank is None else blank
        self.combo.currentIndexChanged.connect(self.changed)
        self.layout_.addWidget(self.combo)
        self.layout_.addStretch(1)
        self.set_choices(choices)

    def set_choices(self, choices: list[tuple[str, Any]]) -> None:
        current = self.value() if self.combo.count() else None
        self.combo.blockSignals(True)
        self.combo.clear()
        if self.blank:
            self.combo.addItem("", None)
        for label, value in choices:
            self.combo.addItem(label, value)
        self.combo.blockSignals(False)
        if current is not None:
            self.set_value(current)

    def value(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        i = self.combo.findData(value)
        if i < 0 and value is not None:
            self.combo.addItem(str(value), value)
            i = self.combo.count() - 1
        self.combo.setCurrentIndex(max(i, 0))

    def focus_widget(self) -> QWidget:
        return self.combo


class DateEditor(Editor):
    """A date with a calendar; optional dates have a clear button and read 'not set'."""

    def __init__(self, f: Field, parent: QWidget | None = None) -> None:
        super().__init__(f, parent)
        self.edit = QDateEdit()
        self.edit.setCalendarPopup(True)
        self.edit.setDisplayFormat("yyyy-MM-dd")
        self.edit.setMinimumDate(NOT_SET)
        self.edit.setSpecialValueText("not set")
        self.edit.setDate(NOT_SET)
        self.edit.setMinimumWidth(130)
        self.edit.dateChanged.connect(self.changed)
        self.layout_.addWidget(self.edit)
        self.clear = QToolButton()
        self.clear.setText("Clear")
        self.clear.setToolTip("Leave this date empty")
        self.clear.clicked.connect(lambda: self.edit.setDate(NOT_SET))
        self.layout_.addWidget(self.clear)
        self.layout_.addStretch(1)

    def value(self) -> Any:
        d = self.edit.date()
        return None if d == NOT_SET else d.toString("yyyy-MM-dd")

    def set_value(self, value: Any) -> None:
        if not value:
            self.edit.setDate(NOT_SET)
        else:
            self.edit.setDate(QDate.fromString(str(value)[:10], "yyyy-MM-dd"))

    def set_today(self) -> None:
        self.edit.setDate(QDate.currentDate())

    def set_read_only(self, read_only: bool) -> None:
        self.edit.setReadOnly(read_only)
        self.clear.setVisible(not read_only)

    def focus_widget(self) -> QWidget:
        return self.edit


class DateTimeEditor(Editor):
    """An instant shown in local time, stored as UTC ISO text."""

    def __init__(self, f: Field, parent: QWidget | None = None) -> None:
        super().__init__(f, parent)
        self.edit = QDateTimeEdit()
        self.edit.setCalendarPopup(True)
        self.edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.edit.setMinimumDateTime(QDateTime(NOT_SET, QTime(0, 0)))
        self.edit.setSpecialValueText("not set")
        self.edit.setDateTime(QDateTime.currentDateTime())
        self.edit.setMinimumWidth(160)
        self.edit.dateTimeChanged.connect(self.changed)
        self.layout_.addWidget(self.edit)
        self.layout_.addStretch(1)
        self._stored: tuple[QDateTime, str] | None = None

    def value(self) -> Any:
        dt = self.edit.dateTime()
        if dt.date() == NOT_SET:
            return None
        if self._stored is not None and self._stored[0] == dt:
            return self._stored[1]  # shown to the minute, kept to the millisecond
        local = datetime(dt.date().year(), dt.date().month(), dt.date().day(),
                         dt.time().hour(), dt.time().minute())
        return clock.iso(local)

    def set_value(self, value: Any) -> None:
        if not value:
            self._stored = None
            self.edit.setDateTime(QDateTime(NOT_SET, QTime(0, 0)))
            return
        local = clock.parse_iso(str(value)).astimezone()
        shown = QDateTime(QDate(local.year, local.month, local.day),
                          QTime(local.hour, local.minute))
        self._stored = (shown, str(value))
        self.edit.setDateTime(shown)

    def set_read_only(self, read_only: bool) -> None:
        self.edit.setReadOnly(read_only)

    def focus_widget(self) -> QWidget:
        return self.edit


class ChecklistEditor(Editor):
    """A list field: tick from the checklist (or the records offered), and add free text."""

    def __init__(self, f: Field, choices: list[tuple[str, str]], *, free_text: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(f, parent)
        box = QVBoxLayout()
        box.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.itemChanged.connect(lambda _i: self.changed.emit())
        box.addWidget(self.list)
        self.other: QLineEdit | None = None
        if free_text:
            self.other = QLineEdit()
            self.other.setPlaceholderText("Other items, separated by ;")
            self.other.textChanged.connect(self.changed)
            box.addWidget(self.other)
        self.layout_.addLayout(box)
        self.set_choices(choices)

    def set_choices(self, choices: list[tuple[str, str]]) -> None:
        ticked = set(self.value() or [])
        self.list.blockSignals(True)
        self.list.clear()
        for label, value in choices:
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, value)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if value in ticked
                               else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        rows = max(1, min(self.list.count(), 10))
        self.list.setFixedHeight(self.list.sizeHintForRow(0) * rows + 2 * self.list.frameWidth() + 4)

    def _known(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def value(self) -> Any:
        out = [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
               if self.list.item(i).checkState() == Qt.CheckState.Checked]
        if self.other is not None:
            out += [p.strip() for p in self.other.text().split(";") if p.strip()]
        return out

    def set_value(self, value: Any) -> None:
        items = list(value or [])
        known = self._known()
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in items
                               else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        if self.other is not None:
            self.other.setText("; ".join(v for v in items if v not in known))
        self.changed.emit()

    def tick(self, value: str, on: bool = True) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == value:
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def set_read_only(self, read_only: bool) -> None:
        self.list.setEnabled(not read_only)
        if self.other is not None:
            self.other.setReadOnly(read_only)


@functools.cache
def zone_names() -> list[str]:
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")


class ZoneEditor(Editor):
    """An IANA time zone: typed, or picked from every zone this machine knows (typing any
    part of a name, e.g. 'warsaw', offers the matches)."""

    def __init__(self, f: Field, parent: QWidget | None = None) -> None:
        super().__init__(f, parent)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setMinimumWidth(260)
        self.combo.addItems(zone_names())
        completer = QCompleter(zone_names(), self.combo)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.combo.setCompleter(completer)
        self.combo.editTextChanged.connect(self.changed)
        self.layout_.addWidget(self.combo)
        self.layout_.addStretch(1)

    def value(self) -> Any:
        return self.combo.currentText().strip() or None

    def set_value(self, value: Any) -> None:
        self.combo.setEditText("" if value is None else str(value))

    def set_read_only(self, read_only: bool) -> None:
        self.combo.setEnabled(not read_only)

    def focus_widget(self) -> QWidget:
        return self.combo


class ListLineEditor(LineEditor):
    """A list of short texts typed as 'A; B; C'."""

    def __init__(self, f: Field, parent: QWidget | None = None) -> None:
        super().__init__(f, parent)
        self.edit.setPlaceholderText((f.help + " - " if f.help else "") + "separate with ;")

    def value(self) -> Any:
        return [p.strip() for p in self.edit.text().split(";") if p.strip()]

    def set_value(self, value: Any) -> None:
        self.edit.setText("; ".join(value or []))


class ReadOnlyEditor(Editor):
    """A derived or system field: shown, never typed."""

    def __init__(self, f: Field, names: fmt.Names | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(f, parent)
        self.names = names
        self.edit = QLineEdit()
        self.edit.setReadOnly(True)
        self.edit.setFrame(False)
        self.edit.setStyleSheet("QLineEdit { background: transparent; font-weight: 600; }")
        tip = f.help or ""
        self.edit.setToolTip(("Computed: " + tip) if f.derived else tip)
        self.layout_.addWidget(self.edit)
        self._value: Any = None

    def value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> None:
        self._value = value
        self.edit.setText(fmt.display(self.field, value, self.names) or "–")

    def set_read_only(self, read_only: bool) -> None:
        pass
