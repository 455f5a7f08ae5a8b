"""`./dev run` on a machine without a screen: a real window on Xvfb (the xcb platform, not
offscreen) that stays up."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_the_app_opens_a_real_window_under_xvfb_and_stays_up(tmp_path: Path) -> None:
    xvfb = shutil.which("xvfb-run")
    assert xvfb, "./dev installs xvfb; it is missing"
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env["DESKTOP_AUDIT_HOME"] = str(tmp_path / "home")
    proc = subprocess.Popen([xvfb, "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-m",
                             "desktop_audit"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True)
    try:
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        seen: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("window open" in s for s in seen):
            if sel.select(timeout=1.0):
                line = proc.stdout.readline()
                if not line:
                    break
                seen.append(line.strip())
        assert any("window open on xcb" in s for s in seen), "\n".join(seen)
        assert any("created with demo data" in s for s in seen)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass  # still up, as it should be
        assert proc.poll() is None, "\n".join(seen)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
