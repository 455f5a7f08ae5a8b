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
from desktop_audit.errors import AuditError
from desktop_audit.ui.dialogs.error_dialog import show_error as show_unexpected
from desktop_audit.ui.runner import Op, runner_for

HEADER = ("<div style='font-size:18pt; font-weight:600'>desktop_audit</div>"
          "<div style='color:#6c757d'>ISO 14001 environmental audits · works offline</div>")


class LoginDialog(QDialog):
    def __init__(self, db: Any, parent: QWidget | None = None, *, username: str = "") -> None:
        super().__init__(parent)
        self.op: Op | None = None
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

    def submit(self) -> Op | None:
        """Check the password on the database writer (a login is journaled, and argon2id
        takes a moment): the dialog stays responsive and closes once signed in."""
        if self.op is not None and self.op.running:
            return None
        db, username, password = self.db, self.username.text(), self.password.text()
        self.sign_in.setEnabled(False)
        self.error.setText("Signing in…")
        self.op = runner_for(db).write(lambda _c: auth.login(db, username, password),
                                       title="signing in", parent=self)
        self.op.succeeded.connect(self._signed_in)
        self.op.failed.connect(self._refused)
        self.op.ended.connect(lambda: self.sign_in.setEnabled(True))
        return self.op

    def _signed_in(self, actor: Any) -> None:
        self.actor = actor
        self.error.setText("")
        self.accept()

    def _refused(self, exc: BaseException) -> None:
        if not isinstance(exc, AuditError):
            self.error.setText("")
            show_unexpected(exc, "signing in", self)
            return
        self.error.setText(str(exc))
        self.password.selectAll()
        self.password.setFocus()


class FirstRunDialog(QDialog):
    """An empty database: create the first administrator, or fill it with the demo data."""

    def __init__(self, db: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task: Op | None = None
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

    def create_admin(self) -> Op | None:
        if self.password.text() != self.again.text():
            self.error.setText("The two passwords differ.")
            return None
        db = self.db
        values = dict(username=self.username.text().strip(), email=self.email.text().strip(),
                      password=self.password.text(),
                      full_name=self.full_name.text().strip() or None)
        self.create.setEnabled(False)
        op = runner_for(db).write(lambda _c: services.bootstrap_admin(db, **values),
                                  title="creating the administrator", parent=self)
        op.succeeded.connect(self._admin_ready)
        op.failed.connect(self._demo_failed)
        op.ended.connect(lambda: self.create.setEnabled(True))
        self.task = op
        return op

    def _admin_ready(self, actor: Any) -> None:
        self.actor = actor
        self.choice = "admin"
        self.accept()

    def use_demo(self) -> None:
        """The demo data is written off the GUI thread; the window stays responsive."""
        from desktop_audit import demo

        db = self.db
        self.demo_button.setEnabled(False)
        self.create.setEnabled(False)
        self.demo_button.setText("Creating demo data…")
        self.task = runner_for(db).write(lambda _c: demo.first_run(db),
                                         title="creating the demo data", parent=self)
        self.task.succeeded.connect(self._demo_ready)
        self.task.failed.connect(self._demo_failed)

    def _demo_ready(self, _admin: object) -> None:
        self.choice = "demo"
        self.accept()

    def _demo_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, AuditError):
            show_unexpected(exc, "setting up the database", self)
        self.error.setText(str(exc))
        self.demo_button.setEnabled(True)
        self.create.setEnabled(True)
        self.demo_button.setText("Open with demo data")
