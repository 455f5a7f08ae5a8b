"""Desktop app figures over 200,000 findings, each beside a floor measured in the same run:

* the findings view showing its first rows, the whole process (start-up, imports, opening
  the database, the window) beside a bare PySide6 lazy table over the same SQLite rows;
* one filter keystroke in the search field (the SQL, the model reset, the repaint) beside
  the bare table running the same SQL and resetting;
* peak memory after scrolling 10,000 rows, beside the bare table's.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROWS = int(os.environ.get("BENCH_UI_FINDINGS", "200000"))
RUNS = int(os.environ.get("BENCH_UI_RUNS", "3"))
ROOT = Path(__file__).resolve().parents[2]
WORDS = ("bund", "drum", "leak", "valve", "label", "spill", "waste", "permit", "noise", "tank",
         "interceptor", "record", "training", "seal", "absorbent", "discharge", "chiller")

APP = r'''
import os, sys, time, json
from desktop_audit.store import open_database
from desktop_audit.domain.auth import actor_from_row
from desktop_audit.schema import BY_NAME, USER
from desktop_audit.store import rows
from desktop_audit.ui.app import make_app
from desktop_audit.ui.views.list_view import ListView
from PySide6.QtTest import QTest
from PySide6.QtCore import Qt, QThreadPool
db = open_database(sys.argv[1])
row = db.execute('SELECT "objectId" FROM "user" WHERE "username" = ?', ("admin",)).fetchone()
actor = actor_from_row(rows.load(db, USER, row[0]))
app = make_app()
view = ListView(db, actor, BY_NAME["AuditFinding"])
view.resize(1280, 760)
view.show()
app.processEvents()
view.table.viewport().grab()
assert view.model.rowCount() > 0
print("FIRST", flush=True)
times = []
view.search.setFocus()
rows_found = []
for word in sys.argv[2].split():
    view.search.clear()
    app.processEvents()
    for ch in word:
        t = time.perf_counter()
        QTest.keyClick(view.search, ch)
        app.processEvents()
        view.table.viewport().grab()
        times.append(time.perf_counter() - t)
    rows_found.append(view.model.rowCount())
view.search.clear()
app.processEvents()
for _ in range(40):
    view.model.fetchMore()
    view.table.scrollToBottom()
    app.processEvents()
QThreadPool.globalInstance().waitForDone()
peak = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print("RESULT " + json.dumps({"keys": times, "found": rows_found, "rows": view.model.rowCount(),
                              "peak_kb": int(peak)}), flush=True)
db.close()  # as the app does when its window closes
'''

BARE = r'''
import sys, time, json, sqlite3
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QApplication, QTableView, QLineEdit, QVBoxLayout, QWidget
from PySide6.QtTest import QTest
spec = json.loads(sys.argv[3])
con = sqlite3.connect(sys.argv[1])
COLS = spec["cols"]
class Model(QAbstractTableModel):
    def __init__(self):
        super().__init__()
        self.rows = []
        self.where, self.params = spec["where"], []
        self.done = False
        self.load()
    def load(self):
        self.beginResetModel()
        self.rows, self.done = [], False
        self.more()
        self.endResetModel()
    def more(self):
        sql = (f'SELECT {", ".join(chr(34) + c + chr(34) for c in COLS)} FROM audit_finding '
               f'WHERE {self.where} ORDER BY {spec["order"]} LIMIT 256 OFFSET {len(self.rows)}')
        got = con.execute(sql, self.params).fetchall()
        self.done = len(got) < 256
        return got
    def rowCount(self, parent=QModelIndex()):
        return len(self.rows) if not parent.isValid() else 0
    def columnCount(self, parent=QModelIndex()):
        return len(COLS)
    def canFetchMore(self, parent=QModelIndex()):
        return not self.done
    def fetchMore(self, parent=QModelIndex()):
        got = self.more()
        if got:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(got) - 1)
            self.rows.extend(got)
            self.endInsertRows()
    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            v = self.rows[index.row()][index.column()]
            return "" if v is None else str(v)
        return None
    def headerData(self, s, o, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and o == Qt.Orientation.Horizontal:
            return COLS[s]
        return None
app = QApplication([])
w = QWidget(); box = QVBoxLayout(w); search = QLineEdit(); table = QTableView()
box.addWidget(search); box.addWidget(table)
model = Model(); table.setModel(model)
def searched(text):
    words = text.split()
    if not words:
        model.where, model.params = spec["where"], []
    else:
        like = "%" + words[0] + "%"
        model.where = spec["where"] + " AND (" + " OR ".join(f'"{n}" LIKE ?' for n in spec["search"]) + ")"
        model.params = [like] * len(spec["search"])
    model.load()
search.textChanged.connect(searched)
w.resize(1280, 760); w.show()
app.processEvents()
table.viewport().grab()
print("FIRST", flush=True)
times = []
search.setFocus()
found = []
for word in sys.argv[2].split():
    search.clear()
    app.processEvents()
    for ch in word:
        t = time.perf_counter()
        QTest.keyClick(search, ch)
        app.processEvents()
        table.viewport().grab()
        times.append(time.perf_counter() - t)
    found.append(model.rowCount())
search.clear(); app.processEvents()
for _ in range(40):
    model.fetchMore(); table.scrollToBottom(); app.processEvents()
peak = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print("RESULT " + json.dumps({"keys": times, "found": found, "rows": model.rowCount(),
                              "peak_kb": int(peak)}), flush=True)
'''


def build(path: Path) -> None:
    """A database with the demo's users and sites and ROWS findings (written in bulk: this is
    the benchmark's fixture, not a path of the app)."""
    from desktop_audit import services
    from desktop_audit.schema import FINDING, SEVERITIES, SYSTEM_COLUMNS
    from desktop_audit.store import codec, open_database
    from desktop_audit.store.db import new_object_id

    db = open_database(path)
    admin = services.bootstrap_admin(db, username="admin", email="a@example.com",
                                     password="bench-admin-pass")
    sites = [services.create_site(db, admin, siteCode=f"PLT-{n:02d}", siteName=f"Plant {n}",
                                  region="North", siteOwner=admin.id) for n in range(1, 4)]
    rnd = random.Random(7)
    cols = [*SYSTEM_COLUMNS, *(f.name for f in FINDING.fields)]
    kinds = ["string"] * 3 + [f.kind for f in FINDING.fields]
    sql = (f'INSERT INTO audit_finding ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
           f'VALUES ({", ".join("?" for _ in cols)})')
    batch = []
    with db.atomic():
        for i in range(ROWS):
            closed = rnd.random() < 0.6
            stamp = f"2026-{rnd.randint(1, 11):02d}-{rnd.randint(1, 28):02d}T10:{i % 60:02d}:00.000Z"
            words = " ".join(rnd.choice(WORDS) for _ in range(6))
            values = {
                "objectId": new_object_id(), "createdAt": stamp, "updatedAt": stamp,
                "site": rnd.choice(sites), "logType": "general", "severity": rnd.choice(SEVERITIES),
                "description": f"Finding {i}: {words}", "correctiveAction": f"Act on {words[:30]}",
                "rootCause": "Procedure not followed" if rnd.random() < 0.5 else None,
                "actionOwner": admin.id, "dueDate": f"2026-{rnd.randint(1, 12):02d}-15",
                "closed": closed, "closedAt": stamp if closed else None,
                "closedBy": admin.id if closed else None, "raisedBy": admin.id,
                "verificationNote": "Checked" if closed else None,
            }
            batch.append([codec.to_db(k, values.get(c)) for c, k in zip(cols, kinds, strict=True)])
            if len(batch) == 10_000:
                db.handle.cursor().executemany(sql, batch)
                batch = []
        if batch:
            db.handle.cursor().executemany(sql, batch)
    db.execute("ANALYZE")
    db.close()


def _spec(path: Path) -> dict[str, Any]:
    from desktop_audit.schema import FINDING
    from desktop_audit.store.listing import ListQuery, columns

    q = ListQuery(FINDING)
    where, _ = q.where()
    return {"cols": ["objectId", *(c.name for c in columns(FINDING))], "where": where,
            "order": q.order_by(), "search": q.rt.search_fields()}


def _child(code: str, db: Path, typed: str, spec: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT),
               DESKTOP_AUDIT_HOME=str(db.parent / "home"))
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(db), typed, json.dumps(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=str(ROOT))
    assert proc.stdout is not None
    first = None
    result: dict[str, Any] = {}
    for line in proc.stdout:
        if line.startswith("FIRST") and first is None:
            first = time.perf_counter() - started
        elif line.startswith("RESULT "):
            result = json.loads(line[7:])
    proc.wait(timeout=600)
    if first is None or not result:
        raise RuntimeError(f"child failed: {proc.stderr.read() if proc.stderr else ''}")
    return first, result


def run(report: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        db = Path(tmp) / "audit.sqlite"
        started = time.perf_counter()
        build(db)
        print(f"  built {ROWS:,} findings in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        spec = _spec(db)
        typed = "chiller cracked"  # a word many findings have, then one none has (a full scan)
        app_first, bare_first, app_keys, bare_keys = [], [], [], []
        app_peak = bare_peak = 0
        for _ in range(RUNS):  # alternate, so both see the same machine
            f, r = _child(BARE, db, typed, spec)
            bare_first.append(f)
            bare_keys += r["keys"]
            bare_peak = max(bare_peak, r["peak_kb"])
            f2, r2 = _child(APP, db, typed, spec)
            app_first.append(f2)
            app_keys += r2["keys"]
            app_peak = max(app_peak, r2["peak_kb"])
            assert r2["found"] == r["found"], (r2["found"], r["found"])
        report.add("findings view: first rows, whole process (200k findings)",
                   statistics.median(app_first), "s",
                   floor_name="bare PySide6 lazy table, whole process",
                   floor_value=statistics.median(bare_first),
                   note=f"median of {RUNS}; target under 3x")
        report.add("filter keystroke in search (SQL + reset + repaint)",
                   statistics.median(app_keys) * 1000, "ms",
                   floor_name="bare table, same SQL", floor_value=statistics.median(bare_keys) * 1000,
                   note=f"median; worst {max(app_keys) * 1000:.0f} ms (bare "
                        f"{max(bare_keys) * 1000:.0f} ms) over {len(app_keys)} keys typing "
                        f"'{typed}'; target under 100 ms")
        report.add("peak memory after scrolling 10,240 rows", app_peak / 1024, "MB",
                   floor_name="bare table", floor_value=bare_peak / 1024,
                   note="target under 250 MB")
