"""./dev bench: run every tests/bench/bench_*.py and print one table.

Each module has ``run(report)``; it measures its figure and the floor beside it in
the same run (the machine is shared and noisy, so only ratios measured side by side
mean anything) and calls ``report.add(...)``.  Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    floor_name: str = ""
    floor_value: float | None = None
    note: str = ""

    @property
    def ratio(self) -> str:
        if not self.floor_value:
            return ""
        return f"{self.value / self.floor_value:.2f}x"


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)

    def add(self, name: str, value: float, unit: str = "s", *, floor_name: str = "",
            floor_value: float | None = None, note: str = "") -> None:
        fig = Figure(name, value, unit, floor_name, floor_value, note)
        self.figures.append(fig)
        floor = f" | floor {floor_name}: {floor_value:.3f} {unit} | {fig.ratio}" if floor_name else ""
        print(f"  {name}: {value:.3f} {unit}{floor} {note}", file=sys.stderr, flush=True)

    def table(self) -> str:
        head = ("figure", "value", "floor", "floor value", "ratio", "note")
        rows = [head]
        for f in self.figures:
            rows.append((f.name, f"{f.value:.3f} {f.unit}", f.floor_name or "-",
                         f"{f.floor_value:.3f} {f.unit}" if f.floor_value else "-",
                         f.ratio or "-", f.note))
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = []
        for n, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="desktop_audit benchmarks")
    parser.add_argument("only", nargs="*", help="run only benchmarks whose module name contains this")
    args = parser.parse_args()
    report = Report()
    folder = Path(__file__).parent
    failed = []
    for info in sorted(pkgutil.iter_modules([str(folder)]), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        if args.only and not any(o in info.name for o in args.only):
            continue
        print(f"{info.name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"tests.bench.{info.name}").run(report)
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(info.name)
        print(f"{info.name} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print()
    print(report.table())
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
