"""Login (offline, against the local users) and the first-run screen of an empty database."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_audit import __version__, services
from desktop_audit.domain import auth
from desktop_audit.domain.actor import Actor
from desktop_audit.errors import AuditError, ValidationError

HEADER = ("<div style='font-size:18pt; font-weight:600'>desktop_audit</div>"
          "<div style='color:#6c757d'>ISO 14001 environmental audits · works offline</div>")


class LoginDialog(QDialog):
    def __init__(self, db: Any, parent: QWidget | None = None, *, username: str = "") -> None:
        super().__init__(parent)
        self.db = db
        self.actor: Actor | None = None
        self.setWindowTitle("Sign in – desktop_audit")
        self.setMinimumWidth(420)
        box = QVBoxLayout(self)
        head = QLabel(HEADER)
        box.addWidget(head)
        form = QFormLayout()
        self.username = QLineEdit(username)
        self.username.setObjectName("username")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        box.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b02a37;")
        box.addWidget(self.error)
        where = QLabel(f"<span style='color:#6c757d'>Database: {db.path} · version "
                       f"{__version__}</span>")
        where.setWordWrap(True)
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(where)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_in = QPushButton("Sign in")
        self.sign_in.setDefault(True)
        buttons.addButton(self.sign_in, QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_in.clicked.connect(self.submit)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)
        (self.password if username else self.username).setFocus()

    def submit(self) -> None:
        try:
            self.actor = auth.login(self.db, self.username.text(), self.password.text())
        except AuditError as exc:
            self.error.setText(str(exc))
            self.password.selectAll()
            self.password.setFocus()
            return
        self.accept()


class FirstRunDialog(QDialog):
    """An empty database: create the first administrator, or fill it with the demo data."""

    def __init__(self, db: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.actor: Actor | None = None
        self.choice = ""
        self.setWindowTitle("Welcome – desktop_audit")
        self.setMinimumWidth(520)
        box = QVBoxLayout(self)
        box.addWidget(QLabel(HEADER))
        box.addWidget(QLabel(f"The database {db.path.name} has no users yet."))
        group = QGroupBox("Create the first administrator")
        form = QFormLayout(group)
        self.username = QLineEdit("admin")
        self.email = QLineEdit()
        self.full_name = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("at least 8 characters")
        self.again = QLineEdit()
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Username", self.username)
        form.addRow("Email", self.email)
        form.addRow("Full name", self.full_name)
        form.addRow("Password", self.password)
        form.addRow("Password again", self.again)
        self.create = QPushButton("Create administrator")
        self.create.clicked.connect(self.create_admin)
        form.addRow("", self.create)
        box.addWidget(group)
        demo = QGroupBox("Or try it out")
        row = QHBoxLayout(demo)
        row.addWidget(QLabel("Three sites with realistic records, users of every role and photos."))
        self.demo_button = QPushButton("Open with demo data")
        self.demo_button.clicked.connect(self.use_demo)
        row.addWidget(self.demo_button)
        box.addWidget(demo)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b02a37;")
        box.addWidget(self.error)

    def create_admin(self) -> None:
        if self.password.text() != self.again.text():
            self.error.setText("The two passwords differ.")
            return
        try:
            self.actor = services.bootstrap_admin(
                self.db, username=self.username.text().strip(), email=self.email.text().strip(),
                password=self.password.text(), full_name=self.full_name.text().strip() or None)
        except ValidationError as exc:
            self.error.setText(str(exc))
            return
        except AuditError as exc:
            self.error.setText(str(exc))
            return
        self.choice = "admin"
        self.accept()

    def use_demo(self) -> None:
        """The demo data is written off the GUI thread; the window stays responsive."""
        from desktop_audit import demo
        from desktop_audit.ui.tasks import Task

        db = self.db
        self.demo_button.setEnabled(False)
        self.create.setEnabled(False)
        self.demo_button.setText("Creating demo data…")
        self.task = Task(lambda _p, _c: demo.first_run(db), db=db, parent=self)
        self.task.succeeded.connect(self._demo_ready)
        self.task.failed.connect(self._demo_failed)
        self.task.start()

    def _demo_ready(self, _admin: object) -> None:
        self.choice = "demo"
        self.accept()

    def _demo_failed(self, message: str) -> None:
        self.error.setText(message)
        self.demo_button.setEnabled(True)
        self.create.setEnabled(True)
        self.demo_button.setText("Open with demo data")
