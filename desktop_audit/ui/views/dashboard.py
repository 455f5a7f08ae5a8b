"""The dashboard: counts for the chosen site, open findings by severity, legal compliance by
status, the 5×5 likelihood × severity heat map, and what needs doing now.  Everything clicks
through to the filtered list (or the record)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QPieSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_audit import records, services
from desktop_audit.domain.actor import Actor
from desktop_audit.records.base import site_threshold
from desktop_audit.schema import (
    ASPECT,
    BY_NAME,
    COMPLIANCE_STATUSES,
    FINDING,
    LEGAL,
    REVIEW,
    SEVERITIES,
    SITE,
    SPILL_KIT,
)
from desktop_audit.store import listing, rows
from desktop_audit.store.listing import ListQuery
from desktop_audit.ui import format as fmt
from desktop_audit.ui.runner import Op, runner_for

SEVERITY_COLOURS = {"major_nc": "#c0392b", "minor_nc": "#e67e22", "observation": "#2e86c1",
                    "opportunity": "#27ae60"}
COMPLIANCE_COLOURS = {"compliant": "#27ae60", "partially_compliant": "#f1c40f",
                      "non_compliant": "#c0392b", "not_assessed": "#95a5a6"}


# The cards: (class, the list the number counts, the list the note counts, the note's words).
# Each count is the count of the list a click opens (the same quick filter, the same SQL).
CARDS: tuple[tuple[str, str | None, str, str], ...] = (
    (ASPECT.name, None, "significant", "{} significant"),
    (SPILL_KIT.name, None, "failed", "{} failed"),
    (LEGAL.name, None, "overdue", "{} overdue"),
    (REVIEW.name, None, "to_approve", "{} to approve"),
    (FINDING.name, "open", "past_due", "open · {} past due"),
)


def _legal_line(r: dict[str, Any], names: fmt.Names) -> str:
    return (f"{r['referenceCode']} – {r['requirementTitle']} (due {r['dueDate']}, "
            f"{names.sites.get(r['site'], '')})")


def _kit_line(r: dict[str, Any], names: fmt.Names) -> str:
    return (f"{r['kitTag']} at {r['kitLocation'] or '?'} ({names.sites.get(r['site'], '')}, "
            f"checked {fmt.local_datetime(r['lastCheckedAt'])[:10]})")


def _finding_line(r: dict[str, Any], names: fmt.Names) -> str:
    return (f"{fmt.enum_text(r['severity'])}: {(r['description'] or '')[:60]} "
            f"(due {r['dueDate']}, {names.sites.get(r['site'], '')})")


# What needs doing now: (key, title, class, quick filter, sort, columns read, one line).
LISTS: tuple[tuple[str, str, str, str, str, tuple[str, ...],
                   Callable[[dict[str, Any], fmt.Names], str]], ...] = (
    ("overdue", "Overdue legal evaluations", LEGAL.name, "overdue", "dueDate",
     ("referenceCode", "requirementTitle", "dueDate", "site"), _legal_line),
    ("kits", "Kits needing replenishment", SPILL_KIT.name, "latest_replenish", "lastCheckedAt",
     ("kitTag", "kitLocation", "lastCheckedAt", "site"), _kit_line),
    ("past_due", "Findings past due", FINDING.name, "past_due", "dueDate",
     ("severity", "description", "dueDate", "site"), _finding_line),
)
SHOWN = 200  # rows a list of the dashboard shows


@dataclass
class DashboardData:
    """What the dashboard shows, read in one go off the GUI thread."""

    zones: dict[str, str | None]
    cards: dict[str, tuple[int, int]]
    open_by_severity: dict[str, int]
    compliance: dict[str, int]
    heat: dict[tuple[Any, ...], int]
    threshold: int
    lists: dict[str, list[tuple[str, str]]]


def gather(db: Any, actor: Actor, site: str | None) -> DashboardData:
    """Every number, chart value and list line of the dashboard for *site* (None: all the
    actor's sites).  Each count is the count of the list a click opens."""
    zones = listing.site_zones(db)  # today at each site, read once
    visible = None if actor.is_admin else services.visible_site_ids(db, actor)

    def query(class_name: str, quick: str | None = None, sort: str = "") -> ListQuery:
        return ListQuery(BY_NAME[class_name], visible_sites=visible, site=site, quick=quick,
                         sort=sort, zones=zones)

    cards = {key: (listing.count(db, query(key, main)), listing.count(db, query(key, note)))
             for key, main, note, _words in CARDS}
    by_sev = listing.grouped(db, query(FINDING.name, "open"), ["severity"])
    by_status = listing.grouped(db, query(LEGAL.name), ["complianceStatus"])
    heat = listing.grouped(db, query(ASPECT.name), ["likelihood", "severity"])
    threshold = site_threshold(rows.load(db, SITE, site) if site else None)
    names = fmt.Names(db)
    lists = {}
    for key, _title, cls, quick, sort, columns, line in LISTS:
        found = listing.fetch(db, query(cls, quick, sort), columns, SHOWN)
        lists[key] = [(line(r, names), r["objectId"]) for r in found]
    return DashboardData(zones, cards, {s: by_sev.get((s,), 0) for s in SEVERITIES},
                         {s: by_status.get((s,), 0) for s in COMPLIANCE_STATUSES}, heat,
                         threshold, lists)


def heat_colour(risk: int, threshold: int) -> QColor:
    if risk >= 16:
        return QColor("#e74c3c")
    if risk >= threshold:
        return QColor("#f5b041")
    if risk >= 5:
        return QColor("#f9e79f")
    return QColor("#abebc6")


class Card(QFrame):
    """A count that clicks through to its list."""

    clicked = Signal()

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setStyleSheet("QFrame#card { border: 1px solid #ced4da; border-radius: 6px; "
                           "background: #ffffff; } QFrame#card:hover { background: #eef4fb; }")
        box = QVBoxLayout(self)
        box.setContentsMargins(12, 8, 12, 8)
        box.setSpacing(0)
        self.title = QLabel(title)
        self.title.setStyleSheet("color: #495057; border: none; background: transparent;")
        self.number = QLabel("0")
        self.number.setStyleSheet("font-size: 20pt; font-weight: 600; border: none; "
                                  "background: transparent;")
        self.note = QLabel("")
        self.note.setStyleSheet("color: #6c757d; border: none; background: transparent;")
        for w in (self.title, self.number, self.note):
            box.addWidget(w)
        self.setToolTip(f"Open the list of {title.lower()}")

    def set_numbers(self, main: int, note: str) -> None:
        self.number.setText(f"{main:,}")
        self.note.setText(note)

    def text(self) -> str:
        return f"{self.title.text()} {self.number.text()} {self.note.text()}"

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()


class Dashboard(QWidget):
    navigate = Signal(str, dict)  # class name, {site, quick, equals}
    open_record = Signal(str, str)
    loaded = Signal()  # the numbers of a refresh are shown

    def __init__(self, db: Any, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.actor = actor
        self.zones: dict[str, str | None] = {}
        self._generation = 0
        self.ready = False  # the numbers of the latest refresh are shown
        self.op: Op | None = None
        self.open_by_severity: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        self.compliance: dict[str, int] = dict.fromkeys(COMPLIANCE_STATUSES, 0)
        self.heat_counts: dict[tuple[Any, ...], int] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        box = QVBoxLayout(body)
        box.setContentsMargins(12, 8, 12, 8)

        top = QHBoxLayout()
        top.addWidget(QLabel("<span style='font-size:16pt; font-weight:600'>Dashboard</span>"))
        top.addStretch(1)
        top.addWidget(QLabel("Site:"))
        self.site = QComboBox()
        self.site.setMinimumWidth(260)
        self.site.addItem("All sites" if actor.is_admin else "All my sites", None)
        sites = records.of(SITE.name)
        for site in services.visible_sites(db, actor):
            self.site.addItem(sites.choice_label(site), site["objectId"])
        self.site.currentIndexChanged.connect(lambda _i: self.refresh())
        top.addWidget(self.site)
        box.addLayout(top)

        cards = QGridLayout()
        self.cards: dict[str, Card] = {}
        for n, (key, main, _note, _words) in enumerate(CARDS):
            card = Card(BY_NAME[key].plural)
            card.setObjectName(f"card_{key}")
            card.clicked.connect(lambda k=key, q=main: self._go(k, q))
            cards.addWidget(card, 0, n)
            self.cards[key] = card
        box.addLayout(cards)

        charts = QHBoxLayout()
        self.severity_chart = QChartView()
        self.severity_chart.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.severity_chart.setMinimumHeight(250)
        self.legal_chart = QChartView()
        self.legal_chart.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.legal_chart.setMinimumHeight(250)
        heat_box = QVBoxLayout()
        heat_box.addWidget(QLabel("<b>Aspects: likelihood × severity</b>"))
        self.heat = QTableWidget(5, 5)
        self.heat.setObjectName("heatmap")
        self.heat.setHorizontalHeaderLabels([str(s) for s in range(1, 6)])
        self.heat.setVerticalHeaderLabels([str(lk) for lk in range(5, 0, -1)])
        self.heat.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.heat.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.heat.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.heat.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.heat.setMinimumSize(260, 200)
        self.heat.setToolTip("Rows: likelihood (5 at the top); columns: severity. Click a cell to "
                             "list its aspects.")
        self.heat.cellClicked.connect(self._heat_clicked)
        heat_box.addWidget(self.heat)
        heat_box.addWidget(QLabel("<span style='color:#6c757d'>rows: likelihood · columns: "
                                  "severity</span>"))
        charts.addWidget(self.severity_chart, 3)
        charts.addWidget(self.legal_chart, 3)
        charts.addLayout(heat_box, 2)
        box.addLayout(charts)

        lists = QHBoxLayout()
        self.lists: dict[str, tuple[QPushButton, QListWidget]] = {}
        for key, title, cls, quick, *_rest in LISTS:
            col = QVBoxLayout()
            head = QPushButton(title)
            head.setFlat(True)
            head.setStyleSheet("QPushButton { text-align: left; font-weight: 600; }")
            head.setCursor(Qt.CursorShape.PointingHandCursor)
            head.setToolTip("Show them all in the list")
            head.clicked.connect(lambda _c=False, c=cls, q=quick: self._go(c, q))
            col.addWidget(head)
            lw = QListWidget()
            lw.setObjectName(f"list_{key}")
            lw.setMinimumHeight(150)
            lw.setWordWrap(True)
            lw.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            lw.itemActivated.connect(lambda item, c=cls: self.open_record.emit(
                c, item.data(Qt.ItemDataRole.UserRole)))
            lw.itemClicked.connect(lambda item, c=cls: self.open_record.emit(
                c, item.data(Qt.ItemDataRole.UserRole)))
            col.addWidget(lw)
            lists.addLayout(col)
            self.lists[key] = (head, lw)
        box.addLayout(lists)
        self.refresh()

    # ------------------------------------------------------------------ data
    def refresh(self) -> None:
        """Read the numbers on the reader pool (on 200,000 rows they take a while) and show
        them when they arrive; a refresh asked for meanwhile wins over an older one."""
        self._generation += 1
        generation = self._generation
        db, actor, site = self.db, self.actor, self.site.currentData()
        self.ready = False
        self.setCursor(Qt.CursorShape.BusyCursor)
        op = runner_for(db).read(lambda _c: gather(db, actor, site), title="reading the dashboard",
                                 parent=self)
        op.succeeded.connect(lambda data: self._show(generation, data))
        op.ended.connect(self.unsetCursor)
        self.op = op

    def _show(self, generation: int, data: DashboardData) -> None:
        if generation != self._generation:
            return
        self.zones = data.zones
        for key, _main, _note, words in CARDS:
            main, note = data.cards[key]
            self.cards[key].set_numbers(main, words.format(note))
        self.open_by_severity = data.open_by_severity
        self._severity_chart()
        self.compliance = data.compliance
        self._legal_chart()
        self._heatmap(data.heat, data.threshold)
        self._lists(data.lists)
        self.ready = True
        self.loaded.emit()

    def _severity_chart(self) -> None:
        chart = QChart()
        chart.setTitle("Open findings by severity")
        chart.legend().setVisible(False)
        chart.setMargins(QMargins(4, 4, 4, 4))
        series = QHorizontalBarSeries()
        barset = QBarSet("Open findings")
        order = list(reversed(SEVERITIES))  # the first category is drawn at the bottom
        for s in order:
            barset.append(self.open_by_severity[s])
        barset.setColor(QColor("#2e86c1"))
        series.append(barset)
        series.setLabelsVisible(True)
        series.clicked.connect(lambda index, _set: self._go(
            FINDING.name, f"open_{order[index]}"))
        chart.addSeries(series)
        axis = QBarCategoryAxis()
        axis.append([fmt.enum_text(s) for s in order])
        chart.addAxis(axis, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(axis)
        values = QValueAxis()
        top = max([1, *self.open_by_severity.values()])
        values.setRange(0, top + 1)
        values.setTickType(QValueAxis.TickType.TicksDynamic)
        values.setTickAnchor(0)
        values.setTickInterval(max(1, (top + 1) // 5))
        values.setLabelFormat("%d")
        chart.addAxis(values, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(values)
        old = self.severity_chart.chart()
        self.severity_chart.setChart(chart)
        if old is not None:
            old.deleteLater()

    def _legal_chart(self) -> None:
        chart = QChart()
        chart.setTitle("Legal register: compliance")
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        series = QPieSeries()
        for status in COMPLIANCE_STATUSES:
            n = self.compliance[status]
            if not n:
                continue
            pie_slice = series.append(f"{fmt.enum_text(status)} ({n})", n)
            pie_slice.setColor(QColor(COMPLIANCE_COLOURS[status]))
            pie_slice.clicked.connect(lambda s=status: self._go(
                LEGAL.name, None, {"complianceStatus": s}))
        series.setPieSize(0.75)
        chart.addSeries(series)
        old = self.legal_chart.chart()
        self.legal_chart.setChart(chart)
        if old is not None:
            old.deleteLater()

    def _heatmap(self, counts: dict[tuple[Any, ...], int], threshold: int) -> None:
        self.heat_counts = counts
        for row in range(5):
            likelihood = 5 - row
            for col in range(5):
                severity = col + 1
                n = counts.get((likelihood, severity), 0)
                item = QTableWidgetItem(str(n) if n else "")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(heat_colour(likelihood * severity, threshold))
                item.setToolTip(f"likelihood {likelihood} × severity {severity} = "
                                f"{likelihood * severity}: {n} aspects")
                self.heat.setItem(row, col, item)

    def _lists(self, found_lists: dict[str, list[tuple[str, str]]]) -> None:
        for key, *_rest in LISTS:
            head, lw = self.lists[key]
            found = found_lists[key]
            lw.clear()
            for text, object_id in found:
                item = QListWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, object_id)
                lw.addItem(item)
            if not found:
                empty = QListWidgetItem("Nothing here.")
                empty.setFlags(Qt.ItemFlag.NoItemFlags)
                lw.addItem(empty)
            base = head.text().split(" (")[0]
            head.setText(f"{base} ({len(found)}{'+' if len(found) == SHOWN else ''}) ›")

    # ------------------------------------------------------------------ navigation
    def _go(self, class_name: str, quick: str | None, equals: dict[str, Any] | None = None) -> None:
        self.navigate.emit(class_name, {"site": self.site.currentData(), "quick": quick,
                                        "equals": equals or {}})

    def _heat_clicked(self, row: int, col: int) -> None:
        self._go(ASPECT.name, None, {"likelihood": 5 - row, "severity": col + 1})
