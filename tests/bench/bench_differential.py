"""The long differential run: thousands of generated writes judged by the laptop and by the
real server (tests/sync/test_differential.py with DESKTOP_AUDIT_DIFF_CASES, default 3000
here; BENCH_DIFF_CASES overrides).  Reports how many ran and how long they took; any
disagreement fails the run and is printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CASES = int(os.environ.get("BENCH_DIFF_CASES", "3000"))


def run(report: Any) -> None:
    env = dict(os.environ, DESKTOP_AUDIT_DIFF_CASES=str(CASES), QT_QPA_PLATFORM="offscreen")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/sync/test_differential.py"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=7200)
    elapsed = time.perf_counter() - started
    summary = next((line for line in done.stdout.splitlines()
                    if line.startswith("differential:")), "")
    if done.returncode != 0 or not summary:
        print(done.stdout[-6000:], file=sys.stderr)
        raise RuntimeError("the long differential run failed")
    ran = int(re.search(r"(\d+) generated writes", summary).group(1))  # type: ignore[union-attr]
    report.add(f"differential run: {ran} generated writes, laptop and server agree", elapsed,
               note=summary.split("(")[0].strip())
