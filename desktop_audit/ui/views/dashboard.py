"""The dashboard: counts for the chosen site, open findings by severity, legal compliance by
status, the 5×5 likelihood × severity heat map, and what needs doing now.  Everything clicks
through to the filtered list (or the record)."""

from __future__ import annotations

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

from desktop_audit import services
from desktop_audit.domain.actor import Actor
from desktop_audit.schema import COMPLIANCE_STATUSES, SEVERITIES
from desktop_audit.ui import format as fmt
from desktop_audit.ui.listing import TODAY

SEVERITY_COLOURS = {"major_nc": "#c0392b", "minor_nc": "#e67e22", "observation": "#2e86c1",
                    "opportunity": "#27ae60"}
COMPLIANCE_COLOURS = {"compliant": "#27ae60", "partially_compliant": "#f1c40f",
                      "non_compliant": "#c0392b", "not_assessed": "#95a5a6"}


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
        visible = set(services.visible_site_ids(db, actor))
        for oid, code, name in db.execute('SELECT "objectId", "siteCode", "siteName" FROM audit_site '
                                          'WHERE "deletedAt" IS NULL ORDER BY "siteCode"'):
            if oid in visible:
                self.site.addItem(f"{code} – {name}", oid)
        self.site.currentIndexChanged.connect(lambda _i: self.refresh())
        top.addWidget(self.site)
        box.addLayout(top)

        cards = QGridLayout()
        self.cards: dict[str, Card] = {}
        for n, (key, title) in enumerate((("AspectImpactLog", "Aspects & impacts"),
                                          ("SpillKitLog", "Spill kit checks"),
                                          ("LegalRegisterEntry", "Legal register"),
                                          ("AuditReview", "Audit reviews"),
                                          ("AuditFinding", "Findings"))):
            card = Card(title)
            card.setObjectName(f"card_{key}")
            card.clicked.connect(lambda k=key: self._go(k, None))
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
        for key, title, cls, quick in (
                ("overdue", "Overdue legal evaluations", "LegalRegisterEntry", "overdue"),
                ("kits", "Kits needing replenishment", "SpillKitLog", "latest_replenish"),
                ("past_due", "Findings past due", "AuditFinding", "past_due")):
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
    def _scope(self, column: str = "site") -> tuple[str, list[Any]]:
        site = self.site.currentData()
        if site:
            return f'"{column}" = ?', [site]
        if self.actor.is_admin:
            return "1", []
        ids = services.visible_site_ids(self.db, self.actor)
        return f'"{column}" IN ({", ".join("?" for _ in ids) or "NULL"})', list(ids)

    def _one(self, sql: str, params: list[Any]) -> Any:
        return self.db.execute(sql, params).fetchone()[0] or 0

    def refresh(self) -> None:
        scope, p = self._scope()
        live = f'"deletedAt" IS NULL AND {scope}'
        aspects = self._one(f"SELECT COUNT(*) FROM aspect_impact_log WHERE {live}", p)
        significant = self._one(f'SELECT COUNT(*) FROM aspect_impact_log WHERE {live} AND '
                                '"significant" = 1', p)
        self.cards["AspectImpactLog"].set_numbers(aspects, f"{significant} significant")
        kits = self._one(f"SELECT COUNT(*) FROM spill_kit_log WHERE {live}", p)
        failed = self._one(f"SELECT COUNT(*) FROM spill_kit_log WHERE {live} AND "
                           "\"inspectionStatus\" = 'fail'", p)
        self.cards["SpillKitLog"].set_numbers(kits, f"{failed} failed")
        legal = self._one(f"SELECT COUNT(*) FROM legal_register_entry WHERE {live}", p)
        overdue = self._one(f'SELECT COUNT(*) FROM legal_register_entry WHERE {live} AND '
                            f'"dueDate" < {TODAY}', p)
        self.cards["LegalRegisterEntry"].set_numbers(legal, f"{overdue} overdue")
        reviews = self._one(f"SELECT COUNT(*) FROM audit_review WHERE {live}", p)
        to_approve = self._one(f"SELECT COUNT(*) FROM audit_review WHERE {live} AND "
                               "\"reviewStatus\" = 'completed'", p)
        self.cards["AuditReview"].set_numbers(reviews, f"{to_approve} to approve")
        by_sev = dict(self.db.execute(f'SELECT "severity", COUNT(*) FROM audit_finding WHERE {live} '
                                      'AND "closed" = 0 GROUP BY "severity"', p).fetchall())
        open_total = sum(by_sev.values())
        past_due = self._one(f'SELECT COUNT(*) FROM audit_finding WHERE {live} AND "closed" = 0 '
                             f'AND "dueDate" < {TODAY}', p)
        self.cards["AuditFinding"].set_numbers(open_total, f"open · {past_due} past due")
        self.open_by_severity = {s: by_sev.get(s, 0) for s in SEVERITIES}
        self._severity_chart()
        by_status = dict(self.db.execute(
            f'SELECT "complianceStatus", COUNT(*) FROM legal_register_entry WHERE {live} '
            'GROUP BY "complianceStatus"', p).fetchall())
        self.compliance = {s: by_status.get(s, 0) for s in COMPLIANCE_STATUSES}
        self._legal_chart()
        self._heatmap(live, p)
        self._lists(live, p)

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
            "AuditFinding", f"open_{order[index]}"))
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
                "LegalRegisterEntry", None, {"complianceStatus": s}))
        series.setPieSize(0.75)
        chart.addSeries(series)
        old = self.legal_chart.chart()
        self.legal_chart.setChart(chart)
        if old is not None:
            old.deleteLater()

    def _heatmap(self, live: str, p: list[Any]) -> None:
        counts = {(lk, sv): n for lk, sv, n in self.db.execute(
            f'SELECT "likelihood", "severity", COUNT(*) FROM aspect_impact_log WHERE {live} '
            'GROUP BY "likelihood", "severity"', p).fetchall()}
        site = self.site.currentData()
        threshold = 12
        if site:
            threshold = self._one('SELECT "significanceThreshold" FROM audit_site WHERE '
                                  '"objectId" = ?', [site]) or 12
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

    def _lists(self, live: str, p: list[Any]) -> None:
        names = fmt.Names(self.db)
        queries = {
            "overdue": (f'SELECT "objectId", "referenceCode", "requirementTitle", "dueDate", "site" '
                        f'FROM legal_register_entry WHERE {live} AND "dueDate" < {TODAY} '
                        'ORDER BY "dueDate"',
                        lambda r: f"{r[1]} – {r[2]} (due {r[3]}, {names.sites.get(r[4], '')})"),
            "kits": ('SELECT "objectId", "kitTag", "kitLocation", "lastCheckedAt", "site", '
                     f'"missingItems" FROM spill_kit_log WHERE {live} AND "replenishmentNeeded" = 1 '
                     'AND "lastCheckedAt" = (SELECT MAX(k."lastCheckedAt") FROM spill_kit_log k '
                     'WHERE k."site" = spill_kit_log."site" AND k."kitTag" = spill_kit_log."kitTag" '
                     'AND k."deletedAt" IS NULL) ORDER BY "lastCheckedAt"',
                     lambda r: f"{r[1]} at {r[2] or '?'} ({names.sites.get(r[4], '')}, checked "
                               f"{fmt.local_datetime(r[3])[:10]})"),
            "past_due": (f'SELECT "objectId", "severity", "description", "dueDate", "site" '
                         f'FROM audit_finding WHERE {live} AND "closed" = 0 AND "dueDate" < {TODAY} '
                         'ORDER BY "dueDate"',
                         lambda r: f"{fmt.enum_text(r[1])}: {(r[2] or '')[:60]} (due {r[3]}, "
                                   f"{names.sites.get(r[4], '')})"),
        }
        for key, (sql, label) in queries.items():
            head, lw = self.lists[key]
            rows = self.db.execute(sql + " LIMIT 200", p).fetchall()
            lw.clear()
            for r in rows:
                item = QListWidgetItem(label(r))
                item.setData(Qt.ItemDataRole.UserRole, r[0])
                lw.addItem(item)
            if not rows:
                empty = QListWidgetItem("Nothing here.")
                empty.setFlags(Qt.ItemFlag.NoItemFlags)
                lw.addItem(empty)
            base = head.text().split(" (")[0]
            head.setText(f"{base} ({len(rows)}{'+' if len(rows) == 200 else ''}) ›")

    # ------------------------------------------------------------------ navigation
    def _go(self, class_name: str, quick: str | None, equals: dict[str, Any] | None = None) -> None:
        self.navigate.emit(class_name, {"site": self.site.currentData(), "quick": quick,
                                        "equals": equals or {}})

    def _heat_clicked(self, row: int, col: int) -> None:
        self._go("AspectImpactLog", None, {"likelihood": 5 - row, "severity": col + 1})
