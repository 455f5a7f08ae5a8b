"""Lazy table models over SQLite: rows are read a page at a time (fetchMore); filtering,
search and sorting are SQL (store/listing.py), so a list of 200,000 findings opens as fast
as its first page."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont

from desktop_audit import clock, records
from desktop_audit.domain.actor import Actor
from desktop_audit.records.base import RecordType, RowState
from desktop_audit.schema import ClassDef
from desktop_audit.services import common
from desktop_audit.store import listing
from desktop_audit.store.listing import Column, ListQuery, columns
from desktop_audit.ui import format as fmt

PAGE = 256
AnyIndex = QModelIndex | QPersistentModelIndex
DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
BACKGROUND = int(Qt.ItemDataRole.BackgroundRole.value)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
ALIGN = int(Qt.ItemDataRole.TextAlignmentRole.value)
FONT = int(Qt.ItemDataRole.FontRole.value)
RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)

RED = QColor("#f8d7da")
AMBER = QColor("#fff3cd")
GREEN = QColor("#d1e7dd")
GREY = QColor("#6c757d")
# A row state's tone as a background; grey is a foreground (greyed-out text) instead.
BACKGROUNDS = {"red": RED, "amber": AMBER, "green": GREEN}



def tone_colours(state: RowState) -> tuple[QColor | None, QColor | None]:
    """(background, foreground) of a row in this state."""
    return BACKGROUNDS.get(state.tone or ""), (GREY if state.tone == "grey" else None)


class SiteDays:
    """Today at each site (read once per refresh): a record's dates are dates at its site."""

    def __init__(self, zones: dict[str, str | None]) -> None:
        self.zones = zones
        self._days: dict[str | None, date] = {}

    def today(self, site_id: str | None) -> date:
        zone = self.zones.get(site_id or "")
        day = self._days.get(zone)
        if day is None:
            day = self._days[zone] = clock.today(zone)
        return day

    @classmethod
    def of(cls, db: Any) -> SiteDays:
        return cls(listing.site_zones(db))


def row_state(rt: RecordType, record: dict[str, Any], days: SiteDays) -> RowState:
    """How the record reads in a list, with today taken at its site."""
    return rt.row_state(record, days.today(rt.site_of(record)))


class RecordTableModel(QAbstractTableModel):
    """One class's records as the actor may see them, fetched lazily in pages."""

    refreshed = Signal()

    def __init__(self, db: Any, actor: Actor, cdef: ClassDef, *, page: int = PAGE,
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.db = db
        self.actor = actor
        self.cdef = cdef
        self.rt = records.of(cdef.name)
        self.page = page
        self.cols: list[Column] = columns(cdef)
        self.names = fmt.Names(db)
        visible = None if actor.is_admin else common.visible_site_ids(db, actor)
        self.days = SiteDays.of(db)
        self.query = ListQuery(cdef, visible_sites=visible, zones=self.days.zones)
        self._rows: list[tuple[Any, ...]] = []
        self._done = False
        self.plan = "walk"  # how the list's pages are read (store/listing.py)
        self._search_all = False  # short words: every row, not the first ones (asked for)
        self._field_names = [c.name for c in self.cols]
        self._cache: dict[int, dict[str, Any]] = {}
        self._painted: dict[int, tuple[list[str], Any, Any, str]] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    # ---------------------------------------------------------------- filters
    def set_site(self, site_id: str | None) -> None:
        self.query.site = site_id or None
        self.refresh()

    def set_quick(self, key: str | None) -> None:
        self.query.quick = key or None
        self.refresh()

    def set_search(self, text: str) -> None:
        if text.strip() == self.query.search.strip():
            self.query.search = text
            return
        self.query.search = text
        self._search_all = False
        self.refresh(names=False)

    @property
    def bounded(self) -> bool:
        """The search looked at the list's first rows only (words too short for the index)."""
        return self.plan == "bounded"

    def search_all(self) -> None:
        """Search every row for the short words a bounded search left unsearched."""
        if self.bounded:
            self._search_all = True
            self.refresh(names=False)

    def set_equals(self, values: dict[str, Any]) -> None:
        self.query.equals = dict(values)
        self.refresh()

    def refresh(self, *, names: bool = True) -> None:
        self.beginResetModel()
        if names:
            self.names.reload(self.db)
        self.days = SiteDays.of(self.db)  # a new site, a changed zone, a new day
        self.query.zones = self.days.zones
        self._rows = []
        self._cache = {}
        self._painted = {}
        self._done = False
        self._fetch()
        self.endResetModel()
        self.refreshed.emit()

    def _fetch(self) -> int:
        """The first page, read by the plan that suits the search (store/listing.py); the
        following pages keep it."""
        if self._search_all and self.query.words():
            self.plan = "scan"
            rows = listing.page(self.db, self.query, self._field_names, self.page,
                                plan="scan") or []
        else:
            rows, self.plan = listing.first_page(self.db, self.query, self._field_names,
                                                 self.page)
        self._rows.extend(rows)
        if len(rows) < self.page:
            self._done = True
        return len(rows)

    # ---------------------------------------------------------------- Qt model
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.cols)

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._done

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._done:
            return
        rows = listing.page(self.db, self.query, self._field_names, self.page, len(self._rows),
                            plan=self.plan) or []
        if len(rows) < self.page:
            self._done = True
        if rows:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.cols):
            col = self.cols[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return col.label
            if role == Qt.ItemDataRole.ToolTipRole:
                return (col.field.help if col.field and col.field.help else col.label)
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return section + 1
        return None

    def record(self, row: int) -> dict[str, Any]:
        """The row's values as stored (lists and booleans decoded)."""
        cached = self._cache.get(row)
        if cached is not None:
            return cached
        out = listing.decode(self.cdef, self._field_names, self._rows[row])
        if len(self._cache) > 2048:
            self._cache.clear()
        self._cache[row] = out
        return out

    def object_id(self, row: int) -> str:
        return str(self._rows[row][0])

    def row_of(self, object_id: str) -> int:
        for n, raw in enumerate(self._rows):
            if raw[0] == object_id:
                return n
        return -1

    def _cells(self, row: int) -> tuple[list[str], Any, Any, str]:
        """The row as painted: display texts, background, foreground, state (computed once)."""
        cached = self._painted.get(row)
        if cached is not None:
            return cached
        rec = self.record(row)
        texts = []
        for col in self.cols:
            value = rec.get(col.name)
            if col.field is None:
                texts.append(fmt.local_datetime(value))
            elif col.name == "changes" and isinstance(value, dict):
                texts.append(", ".join(value))
            elif col.name == "siteId":
                texts.append(self.names.sites.get(value, value or ""))
            elif col.name == "actor":
                texts.append(self.names.users.get(value, value or ""))
            elif col.name == "sites" and rec.get("role") == "admin":
                texts.append("all sites (admin)")
            else:
                texts.append(fmt.display(col.field, value, self.names))
        state = row_state(self.rt, rec, self.days)
        background, foreground = tone_colours(state)
        out = (texts, QBrush(background) if background is not None else None,
               QBrush(foreground) if foreground is not None else None, state.why)
        if len(self._painted) > 4096:
            self._painted.clear()
        self._painted[row] = out
        return out

    def data(self, index: AnyIndex, role: int = DISPLAY) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        if row >= len(self._rows):
            return None
        role = int(role)
        if role == DISPLAY:
            return self._cells(row)[0][index.column()]
        if role == BACKGROUND:
            return self._cells(row)[1]
        if role == FOREGROUND:
            return self._cells(row)[2]
        if role == TOOLTIP:
            texts, _bg, _fg, why = self._cells(row)
            col = self.cols[index.column()]
            text = texts[index.column()]
            value = self.record(row).get(col.name)
            if col.name == "changes" and isinstance(value, dict):
                text = "\n".join(f"{k}: {v[0]!r} → {v[1]!r}" if isinstance(v, list) and len(v) == 2
                                 else f"{k}: {v}" for k, v in value.items())
            return "\n".join(t for t in (text if len(text) > 30 else "", why) if t) or None
        if role == ALIGN:
            return RIGHT if self.cols[index.column()].kind == "int" else None
        if role == FONT and self.cols[index.column()].name == self.cdef.key:
            return self._bold
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.cols):
            return
        self.query.sort = self.cols[column].name
        self.query.descending = order == Qt.SortOrder.DescendingOrder
        self.refresh()

    def sort_section(self) -> tuple[int, Qt.SortOrder]:
        for n, c in enumerate(self.cols):
            if c.name == self.query.sort:
                return n, (Qt.SortOrder.DescendingOrder if self.query.descending
                           else Qt.SortOrder.AscendingOrder)
        return -1, Qt.SortOrder.AscendingOrder

    def column_index(self, name: str) -> int:
        for n, c in enumerate(self.cols):
            if c.name == name:
                return n
        return -1
