"""Release hygiene: the wheel's contents, --version, the changelog. (`serve --workers N`: test_pool.py.)"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from ticker import __version__

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_both_packages_and_the_widget_but_no_tests(tmp_path: Path) -> None:
    # built from a copy, so that no build/ or *.egg-info is left in the work tree; offline: no index, and no
    # build isolation (which installs the backend from an index): the test extra brings a setuptools that
    # builds wheels by itself
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", ".*cache*"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-index", "--no-build-isolation", "--no-deps", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("ticker-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = configparser.ConfigParser()
        scripts.read_string(archive.read(entry_points).decode())
    assert {"ticker/run/app.py", "ticker/run/cli.py", "ticker/static/widget.js", "ticker/static/widget-history.js",
            "ticker/static/index.html", "ticker/render/words.json"} <= names  # fmt: skip
    providers = {n for n in names if n.startswith("providers/") and n.endswith(".py")}
    assert {"providers/__init__.py", "providers/base.py", "providers/nbk.py", "providers/cbr.py"} <= providers
    assert not [n for n in names if n.startswith(("tests/", "bench/", "scripts/")) or "/tests/" in n]
    assert dict(scripts["console_scripts"]) == {"ticker": "ticker.run.cli:main"}


def test_version() -> None:
    out = subprocess.run([sys.executable, "-m", "ticker", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"ticker {__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", __version__)


def test_changelog_names_this_version() -> None:
    assert f"## {__version__}" in (ROOT / "CHANGELOG.md").read_text()
