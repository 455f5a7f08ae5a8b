"""The dashboard: counts for the chosen site, open findings by severity, legal compliance by
status, the 5×5 likelihood × severity heat map, and what needs doing now.  Everything clicks
through to the filtered list (or the record)."""

from __future__ import annotations

from collections.abc import Callable
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

    def __init__(self, db: Any, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.actor = actor
        self.zones: dict[str, str | None] = {}
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
    def _query(self, class_name: str, quick: str | None = None, sort: str = "") -> ListQuery:
        """The list a count (or a click) stands for: the chosen site, or the actor's sites."""
        visible = None if self.actor.is_admin else services.visible_site_ids(self.db, self.actor)
        return ListQuery(BY_NAME[class_name], visible_sites=visible, site=self.site.currentData(),
                         quick=quick, sort=sort, zones=self.zones)

    def _count(self, class_name: str, quick: str | None = None) -> int:
        return listing.count(self.db, self._query(class_name, quick))

    def refresh(self) -> None:
        self.zones = listing.site_zones(self.db)  # today at each site, read once per refresh
        for key, main, note, words in CARDS:
            self.cards[key].set_numbers(self._count(key, main), words.format(self._count(key, note)))
        by_sev = listing.grouped(self.db, self._query(FINDING.name, "open"), ["severity"])
        self.open_by_severity = {s: by_sev.get((s,), 0) for s in SEVERITIES}
        self._severity_chart()
        by_status = listing.grouped(self.db, self._query(LEGAL.name), ["complianceStatus"])
        self.compliance = {s: by_status.get((s,), 0) for s in COMPLIANCE_STATUSES}
        self._legal_chart()
        self._heatmap()
        self._lists()

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

    def _heatmap(self) -> None:
        counts = listing.grouped(self.db, self._query(ASPECT.name), ["likelihood", "severity"])
        site = self.site.currentData()
        threshold = site_threshold(rows.load(self.db, SITE, site) if site else None)
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

    def _lists(self) -> None:
        names = fmt.Names(self.db)
        for key, _title, cls, quick, sort, columns, line in LISTS:
            head, lw = self.lists[key]
            found = listing.fetch(self.db, self._query(cls, quick, sort), columns, SHOWN)
            lw.clear()
            for r in found:
                item = QListWidgetItem(line(r, names))
                item.setData(Qt.ItemDataRole.UserRole, r["objectId"])
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
