"""Desktop app figures over 200,000 findings, each beside a floor measured in the same run:

* first paint: ``desktop-audit screenshot findings`` as a whole process (start, sign in with
  the real argon2id parameters, the window on the findings list, its first rows, the PNG)
  beside a bare PySide6 lazy table over the same rows writing the same PNG, plus one
  argon2id verification;
* each search keystroke (the SQL, the model reset, the repaint) typing a query set that
  holds one- and two-letter words, long words, words found nowhere and other scripts; the
  worst keystroke against the 50 ms goal, the median beside the bare table running the
  search the list used to run (LIKE on every field);
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
         "interceptor", "record", "training", "seal", "absorbent", "discharge", "chiller",
         "Ölabscheider", "Łódź", "βαλβίδα")
# Typed letter by letter: every prefix is a keystroke (one letter, two letters, ...).
TYPED = ("chiller", "cracked", "zq", "ölab", "żółw", "finding 1999", "ΒΑΛΒ")
PASSWORD = "bench-admin-pass"
ISSUE_RATIO = 2.2  # first paint over bare + login, as measured before the search index

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
plans = []
view.search.setFocus()
rows_found = []
for word in sys.argv[2].split("|"):
    view.search.clear()
    app.processEvents()
    for ch in word:
        t = time.perf_counter()
        view.search.insert(ch)  # keyClick would mangle non-ASCII letters
        app.processEvents()
        view.table.viewport().grab()
        times.append(time.perf_counter() - t)
        plans.append([view.search.text(), view.model.plan])
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
                              "plans": plans,
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
        model.where, model.params = spec["where"], []
        for word in words:
            model.where += " AND (" + " OR ".join(f'"{n}" LIKE ?' for n in spec["search"]) + ")"
            model.params += ["%" + word + "%"] * len(spec["search"])
    model.load()
search.textChanged.connect(searched)
w.resize(1280, 760); w.show()
app.processEvents()
table.viewport().grab()
print("FIRST", flush=True)
times = []
search.setFocus()
found = []
for word in sys.argv[2].split("|"):
    search.clear()
    app.processEvents()
    for ch in word:
        t = time.perf_counter()
        search.insert(ch)
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


PAINT_BARE = r'''
import sys, json, sqlite3
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QApplication, QTableView
spec = json.loads(sys.argv[2])
con = sqlite3.connect(sys.argv[1])
COLS = spec["cols"]
class Model(QAbstractTableModel):
    def __init__(self):
        super().__init__()
        sql = (f'SELECT {", ".join(chr(34) + c + chr(34) for c in COLS)} FROM audit_finding '
               f'WHERE {spec["where"]} ORDER BY {spec["order"]} LIMIT 256')
        self.rows = con.execute(sql).fetchall()
    def rowCount(self, parent=QModelIndex()):
        return len(self.rows) if not parent.isValid() else 0
    def columnCount(self, parent=QModelIndex()):
        return len(COLS)
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
table = QTableView()
table.setModel(Model())
table.resize(1280, 800)
table.show()
app.processEvents()
table.grab().save(sys.argv[3], "PNG")
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
                                     password=PASSWORD)
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
            words = " ".join(rnd.choice(WORDS) for _ in range(6))  # some in other scripts
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


def _env(db: Path) -> dict[str, str]:
    """As a user's machine runs it: compiled modules cached (a bench run warms them)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT),
               DESKTOP_AUDIT_HOME=str(db.parent / "home"), DESKTOP_AUDIT_PASSWORD=PASSWORD)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _child(code: str, db: Path, typed: str, spec: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    env = _env(db)
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


def _whole(cmd: list[str], db: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=_env(db), cwd=str(ROOT), check=True, capture_output=True,
                   timeout=600)
    return time.perf_counter() - started


def _argon2_verify() -> float:
    """One verification with the app's parameters (what signing in costs at least)."""
    from desktop_audit.domain import auth

    verifier = auth.hash_password(PASSWORD)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        auth._hasher.verify(verifier, PASSWORD)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def first_paint(report: Any, db: Path, spec: dict[str, Any]) -> None:
    app = [sys.executable, "-m", "desktop_audit", "--db", str(db), "--user", "admin",
           "screenshot", "findings", "--out", str(db.parent / "app.png")]
    bare = [sys.executable, "-c", PAINT_BARE, str(db), json.dumps(spec), str(db.parent / "b.png")]
    _whole(app, db), _whole(bare, db)  # compiled modules cached, files in the page cache
    apps, bares = [], []
    for _ in range(max(RUNS, 5)):  # alternate, so both see the same machine
        bares.append(_whole(bare, db))
        apps.append(_whole(app, db))
    login = _argon2_verify()
    took, floor = statistics.median(apps), statistics.median(bares)
    report.add(f"first paint: screenshot findings, whole process ({ROWS:,} findings)", took, "s",
               floor_name="bare PySide6 lazy table writing the PNG + one argon2id verification",
               floor_value=floor + login,
               note=f"median of {len(apps)}; bare {floor:.2f} s + login {login:.2f} s; "
                    f"{took / floor:.1f}x of bare alone; the issue measured "
                    f"{ISSUE_RATIO}x; goal 1.5x")


def run(report: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        db = Path(tmp) / "audit.sqlite"
        started = time.perf_counter()
        build(db)
        print(f"  built {ROWS:,} findings in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        spec = _spec(db)
        first_paint(report, db, spec)
        typed = "|".join(TYPED)
        app_keys, bare_keys, plans = [], [], []
        app_peak = bare_peak = 0
        for _ in range(RUNS):  # alternate, so both see the same machine
            _f, r = _child(BARE, db, typed, spec)
            bare_keys += r["keys"]
            bare_peak = max(bare_peak, r["peak_kb"])
            _f2, r2 = _child(APP, db, typed, spec)
            app_keys += r2["keys"]
            app_peak = max(app_peak, r2["peak_kb"])
            plans += r2["plans"]
            for word, mine, bare_found in zip(TYPED, r2["found"], r["found"], strict=True):
                if word.isascii() and " " not in word:  # the old search knew only these
                    assert mine == bare_found, (word, mine, bare_found)
        worst = max(range(len(app_keys)), key=app_keys.__getitem__)
        kinds: dict[str, list[float]] = {}
        for (text, _plan), took in zip(plans, app_keys, strict=True):
            longest = max(len(w) for w in text.split())
            kind = ("one letter" if longest == 1 else "two letters" if longest == 2
                    else "other script" if not text.isascii() else "three or more")
            kinds.setdefault(kind, []).append(took)
        per_kind = "; ".join(f"{k} {max(v) * 1000:.0f}" for k, v in sorted(kinds.items()))
        report.add("search keystroke, worst (SQL + reset + repaint)", app_keys[worst] * 1000, "ms",
                   note=f"'{plans[worst][0]}' by the {plans[worst][1]} plan; worst per kind "
                        f"(ms): {per_kind}; over {len(app_keys)} keys typing "
                        f"{', '.join(TYPED)}; the issue measured 130 ms; goal 50 ms")
        report.add("search keystroke, median", statistics.median(app_keys) * 1000, "ms",
                   floor_name="bare table, LIKE on every field (the old search)",
                   floor_value=statistics.median(bare_keys) * 1000,
                   note=f"bare worst {max(bare_keys) * 1000:.0f} ms")
        report.add("peak memory after scrolling 10,240 rows", app_peak / 1024, "MB",
                   floor_name="bare table", floor_value=bare_peak / 1024,
                   note="target under 250 MB")
