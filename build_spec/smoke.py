"""Smoke test of the built program: does the folder work on a laptop with nothing else?

    .venv/bin/python build_spec/smoke.py [dist/desktop-audit]

The folder is first copied elsewhere, under a name with a space and a non-ASCII letter
(as "Program Files" or a user's folder).  Every command then runs that copy with an empty
environment (like ``env -i``) plus only HOME, DESKTOP_AUDIT_HOME (a fresh temporary
folder, non-ASCII too), QT_QPA_PLATFORM=offscreen and, where needed,
DESKTOP_AUDIT_PASSWORD; from a working directory outside the checkout; and with a
fontconfig that knows no system fonts, so text in the window renders only from the fonts
the program brings.  The steps: --version, init, demo, screenshot dashboard
(the PNG must show anti-aliased text), export-pack (a PDF), and on Linux the screenshot
again on an X server (Xvfb, through the xcb plugin laptops use), the screenshot and the
pack again with every Python on the machine hidden (as root, in a private mount
namespace), and a check that no bundled library is missing or resolved from the build
machine's Python.  The install
folder must be unchanged afterwards (user data goes to the data folder, never beside the
program).  Run by ./dev build and by tests/build/ when a build exists.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist" / "desktop-audit"
NAME = "desktop-audit"
ADMIN, EMAIL, PASSWORD = "lead", "lead.auditor@example.com", "smoke-Test-2026!"
SITE = "PLT-01"  # a demo site
TIMEOUT = 180  # seconds for any one command: a hung program fails, never blocks


def executable(folder: Path = DIST) -> Path:
    """The program people run (on Windows the console twin, so output can be read)."""
    if sys.platform == "win32":
        return folder / f"{NAME}-cli.exe"
    return folder / NAME


def source_version() -> str:
    text = (ROOT / "desktop_audit" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.MULTILINE)
    assert found, "no __version__ in desktop_audit/__init__.py"
    return found.group(1)


def bare_env(home: Path, **extra: str) -> dict[str, str]:
    """What ``env -i`` leaves, plus the few variables the step needs."""
    env = {"HOME": str(home), "DESKTOP_AUDIT_HOME": str(home / "data"), "QT_QPA_PLATFORM": "offscreen"}
    if sys.platform == "win32":  # Windows cannot start a process without these
        env.update({k: os.environ[k] for k in ("SYSTEMROOT", "SYSTEMDRIVE", "WINDIR") if k in os.environ})
        env["USERPROFILE"] = str(home)
        env["APPDATA"] = env["LOCALAPPDATA"] = str(home / "AppData")
    env.update(extra)
    return env


def no_system_fonts(folder: Path) -> Path:
    """A fontconfig file that lists no font folder: as a laptop with no fonts installed."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                    f"<fontconfig><cachedir>{folder / 'cache'}</cachedir></fontconfig>\n",
                    encoding="utf-8")
    return conf


# --- what the outputs must look like ----------------------------------------------------

def text_edge_pixels(png: Path) -> int:
    """Anti-aliased glyph edges: a mid-grey pixel beside a dark one.

    Real text is drawn anti-aliased, so its strokes are fringed with greys; the empty
    boxes Qt draws when it has no font are one-pixel lines with no fringe, and a blank
    window has neither.  Measured on a 500x120 label with two lines of text: about 650
    with fonts, 0 with boxes.
    """
    from PIL import Image

    img = Image.open(png).convert("RGB")
    width, height = img.size
    data = img.tobytes()
    lum = bytearray(width * height)
    neutral = bytearray(width * height)
    for i in range(width * height):
        r, g, b = data[3 * i], data[3 * i + 1], data[3 * i + 2]
        lum[i] = (r * 299 + g * 587 + b * 114) // 1000
        neutral[i] = max(r, g, b) - min(r, g, b) < 24
    count = 0
    for y in range(height):
        row = y * width
        for x in range(1, width - 1):
            i = row + x
            v = lum[i]
            if not (70 <= v <= 200 and neutral[i]):
                continue
            for j in (i - 1, i + 1):
                if neutral[j] and lum[j] < 90 and lum[j] < v - 30:
                    count += 1
                    break
    return count


def check_png(png: Path) -> str:
    from PIL import Image

    assert png.is_file() and png.stat().st_size > 0, f"{png.name} was not written"
    with Image.open(png) as img:
        assert img.format == "PNG", f"{png.name} is {img.format}, not PNG"
        width, height = img.size
        colours = img.convert("RGB").getcolors(maxcolors=1 << 22)
    assert width >= 400 and height >= 300, f"{png.name} is only {width}x{height}"
    distinct = len(colours) if colours else 1 << 22
    assert distinct >= 64, f"{png.name} has {distinct} colours: blank or nearly so"
    edges = text_edge_pixels(png)
    assert edges >= 300, (f"{png.name} shows no readable text ({edges} anti-aliased glyph edge "
                          "pixels): are the bundled fonts registered?")
    return f"{width}x{height}, {distinct} colours, {edges} glyph edge pixels"


def check_pdf(pdf: Path) -> str:
    assert pdf.is_file(), f"{pdf.name} was not written"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-"), f"{pdf.name} is not a PDF"
    assert b"%%EOF" in data[-1024:], f"{pdf.name} is truncated"
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages >= 1, f"{pdf.name} has no pages"
    assert b"DejaVuSans" in data, f"{pdf.name} does not embed the bundled DejaVu Sans"
    images = len(re.findall(rb"/Subtype\s*/Image", data))
    assert images >= 1, f"{pdf.name} has no photos: are resources/demo_photos bundled?"
    return f"{len(data) // 1024} KB, {pages} pages, DejaVu Sans embedded, {images} images"


def missing_libraries(folder: Path) -> list[str]:
    """Linux: bundled libraries that ldd cannot resolve, or resolves from the build's Python."""
    if not sys.platform.startswith("linux"):
        return []
    build_python = {str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix)}
    internal = folder / "_internal"
    env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": str(internal)}
    problems = []
    for path in [executable(folder), *sorted(internal.rglob("*.so*"))]:
        if not path.is_file() or path.is_symlink():
            continue
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env,
                             timeout=TIMEOUT, check=False).stdout
        for line in out.splitlines():
            if "not found" in line:
                problems.append(f"{path.relative_to(folder)}: {line.strip()}")
            elif any(f" {p}/" in line for p in build_python):
                problems.append(f"{path.relative_to(folder)}: from the build's Python: {line.strip()}")
    return problems


def snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


# --- the run ----------------------------------------------------------------------------

@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str


@dataclass
class Smoke:
    """Runs the steps against a copy of `built` installed under `work`."""

    built: Path
    work: Path
    log: Callable[[str], None] = print
    steps: list[Step] = field(default_factory=list)
    folder: Path = field(init=False)
    home: Path = field(init=False)

    def __post_init__(self) -> None:
        # As installed on a laptop: somewhere else than it was built, under a folder name
        # with a space and a non-ASCII letter, for a user whose home has them too.
        self.folder = self.work / "Program Files Ł" / NAME
        self.home = self.work / "home Łukasz"

    @property
    def exe(self) -> Path:
        return executable(self.folder)

    def run(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        env = bare_env(self.home, DESKTOP_AUDIT_PASSWORD=PASSWORD,
                       FONTCONFIG_FILE=str(no_system_fonts(self.work / "fontconfig")), **extra_env)
        cwd = self.work / "cwd"
        cwd.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([str(self.exe), *args], cwd=cwd, env=env, capture_output=True,
                              text=True, encoding="utf-8", errors="replace", timeout=TIMEOUT,
                              check=False)
        if proc.returncode != 0:
            raise AssertionError(f"`{NAME} {' '.join(args)}` exited {proc.returncode}:\n"
                                 f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        return proc

    def step(self, name: str, action: Callable[[], str]) -> bool:
        started = time.perf_counter()
        try:
            detail, ok = action(), True
        except (AssertionError, OSError, subprocess.SubprocessError) as exc:
            detail, ok = str(exc).strip(), False
        took = time.perf_counter() - started
        self.steps.append(Step(name, ok, took, detail))
        mark = "ok  " if ok else "FAIL"
        first, _, rest = detail.partition("\n")
        self.log(f"  {mark} {name:<24} {took:6.2f} s  {first}")
        if rest:
            self.log("       " + rest.replace("\n", "\n       "))
        return ok

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def commands(self) -> set[str]:
        """The sub-commands this build has."""
        out = self.run("--help").stdout
        return set(re.findall(r"^ {4}([a-z][a-z-]+)", out, re.MULTILINE))

    # the steps

    def version(self) -> str:
        out = self.run("--version").stdout.strip()
        want = f"{NAME} {source_version()}"
        assert out == want, f"--version printed {out!r}, the source says {want!r}"
        return out

    def version_via_link(self) -> str:
        """Installed as a symlink on PATH (~/.local/bin/desktop-audit): still finds its files."""
        link = self.work / "bin" / NAME
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(self.exe)
        proc = subprocess.run([NAME, "--version"], cwd=self.work, capture_output=True, text=True,
                              env=bare_env(self.home, PATH=str(link.parent)), timeout=TIMEOUT,
                              check=False)
        assert proc.returncode == 0, f"through a symlink: exit {proc.returncode}: {proc.stderr[-1500:]}"
        return proc.stdout.strip()

    def init(self) -> str:
        return self.run("init", "--admin", ADMIN, "--email", EMAIL).stdout.strip()

    def demo(self) -> str:
        out = self.run("--user", ADMIN, "demo").stdout.strip()
        photos = [p for p in (ROOT / "resources" / "demo_photos").iterdir() if p.suffix in (".jpg", ".png")]
        stored = [p for p in (self.home / "data").rglob("*") if p.suffix in (".jpg", ".png")]
        assert len(stored) >= len(photos), (f"demo stored {len(stored)} photos of {len(photos)}: "
                                            "are resources/demo_photos bundled?")
        return f"{out.split(': ', 1)[-1]}; {len(stored)} photos"

    def screenshot(self) -> str:
        png = self.home / "Documents" / "dashboard.png"
        self.run("--user", ADMIN, "screenshot", "dashboard", "--out", str(png))
        return check_png(png)

    def screenshot_x11(self) -> str:
        """The same on a real X server (Xvfb) through the xcb platform plugin laptops use."""
        png = self.home / "Documents" / "dashboard-x11.png"
        env = bare_env(self.home, DESKTOP_AUDIT_PASSWORD=PASSWORD, QT_QPA_PLATFORM="xcb",
                       FONTCONFIG_FILE=str(no_system_fonts(self.work / "fontconfig")))
        inner = 'exec env -i DISPLAY="$DISPLAY" XAUTHORITY="$XAUTHORITY" "$@"'
        cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "sh", "-c", inner, "sh",
               *(f"{k}={v}" for k, v in env.items()),
               str(self.exe), "--user", ADMIN, "screenshot", "dashboard", "--out", str(png)]
        proc = subprocess.run(cmd, cwd=self.work / "cwd", capture_output=True, text=True,
                              encoding="utf-8", errors="replace", timeout=TIMEOUT, check=False)
        assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}"
        return check_png(png)

    def without_python(self) -> str:
        """Linux, as root: hide every Python on this machine (its folders and programs, the
        build's virtual environment, the checkout) in a private mount namespace, then take
        the screenshot and the evidence pack again."""
        hide_dirs = {Path(sys.prefix), Path(sys.base_prefix), ROOT,
                     *Path("/usr/lib").glob("python3*"), *Path("/usr/local/lib").glob("python3*")}
        system = {Path("/"), Path("/usr"), Path("/usr/local"), Path("/opt"), Path.home()}
        hide = {d.resolve() for d in hide_dirs if d.is_dir()} - system
        hide = {d for d in hide if d not in self.work.resolve().parents}
        dirs = sorted(str(d) for d in hide if not any(p in hide for p in d.parents))  # outermost
        programs = sorted(str(p) for pattern in ("python*", "pip*")
                          for folder in (Path("/usr/bin"), Path("/usr/local/bin"))
                          for p in folder.glob(pattern) if p.is_file())
        png, pdf = self.home / "Documents" / "no-python.png", self.home / "Documents" / "no-python.pdf"
        env = [f"{k}={v}" for k, v in bare_env(self.home, DESKTOP_AUDIT_PASSWORD=PASSWORD).items()]
        commands = (["--user", ADMIN, "screenshot", "dashboard", "--out", str(png)],
                    ["--user", ADMIN, "export-pack", "--site", SITE, "--out", str(pdf)])
        script = "\n".join([
            "set -e",
            *(f"mount -t tmpfs none {shlex.quote(d)}" for d in dirs),
            *(f"mount --bind /dev/null {shlex.quote(p)}" for p in programs),
            *(f"if {py} -c pass 2>/dev/null; then echo {py} still runs >&2; exit 3; fi"
              for py in map(shlex.quote, ("python3", "python", sys.executable))),
            *(shlex.join(["env", "-i", *env, str(self.exe), *args]) for args in commands),
        ])
        proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                              cwd=self.work / "cwd", capture_output=True, text=True, encoding="utf-8",
                              errors="replace", timeout=TIMEOUT, check=False)
        assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}"
        check_png(png)
        check_pdf(pdf)
        return f"screenshot and pack with {len(dirs)} folders and {len(programs)} programs of Python hidden"

    def export_pack(self) -> str:
        pdf = self.home / "Documents" / "pack Łódź.pdf"
        self.run("--user", ADMIN, "export-pack", "--site", SITE, "--out", str(pdf))
        return check_pdf(pdf)

    def libraries(self) -> str:
        problems = missing_libraries(self.folder)
        assert not problems, "\n".join(problems[:20])
        return "every bundled library resolves" if sys.platform.startswith("linux") else "not checked here"

    def install(self) -> str:
        shutil.copytree(self.built, self.folder, symlinks=True)
        (self.home / "Documents").mkdir(parents=True, exist_ok=True)
        return f"copied to {self.folder}"

    def run_all(self) -> bool:
        assert executable(self.built).is_file(), f"no program at {executable(self.built)}: run ./dev build"
        if not self.step("install", self.install):
            return False
        before = snapshot(self.folder)
        self.step("--version", self.version)
        if sys.platform != "win32":
            self.step("--version via symlink", self.version_via_link)
        self.step("--help", lambda: ", ".join(sorted(self.commands())))
        self.step("init", self.init)
        self.step("demo", self.demo)
        self.step("screenshot dashboard", self.screenshot)
        self.step("export-pack", self.export_pack)
        if sys.platform.startswith("linux"):
            if shutil.which("xvfb-run"):
                self.step("screenshot on X11", self.screenshot_x11)
            else:
                self.log(f"  --   {'screenshot on X11':<24} not checked: no xvfb-run here")
            if os.geteuid() == 0 and shutil.which("unshare"):
                self.step("no Python on the machine", self.without_python)
            else:
                self.log(f"  --   {'no Python on the machine':<24} not checked: needs root and unshare")
        self.step("libraries", self.libraries)

        def unchanged() -> str:
            after = snapshot(self.folder)
            changed = sorted(set(after) ^ set(before) | {k for k in before if after.get(k) != before[k]})
            assert not changed, f"the program wrote into its install folder: {changed[:10]}"
            return f"{len(after)} files as installed"

        self.step("install folder intact", unchanged)
        return self.ok


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0]).resolve() if args else DIST
    print(f"smoke test of {folder}")
    with tempfile.TemporaryDirectory(prefix="desktop-audit-smoke-") as tmp:
        smoke = Smoke(folder, Path(tmp))
        ok = smoke.run_all()
    failed = [s.name for s in smoke.steps if not s.ok]
    print("smoke test passed" if ok else f"smoke test FAILED: {', '.join(failed)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
