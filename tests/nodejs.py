"""Node for the tests that need it: terser (the widget's build) and axe-core (the accessibility audit), both pinned
in widget/package-lock.json and installed with `npm ci` (.ci/run does it; a test does it once where it is
missing). Without node and npm on PATH those tests skip, saying so; .ci/run installs them where missing."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDGET_DIR = ROOT / "widget"
NODE = shutil.which("node")
NPM = shutil.which("npm")
needs_node = pytest.mark.skipif(
    NODE is None or NPM is None, reason="no node or npm on PATH (apt-get install nodejs npm; .ci/run does)"
)


@cache
def node_modules() -> Path:
    """widget/node_modules as package-lock.json pins it: `npm ci` once when it is missing or older than the lock."""
    assert NPM is not None
    installed = WIDGET_DIR / "node_modules" / ".package-lock.json"
    lock = WIDGET_DIR / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund", "--prefix", str(WIDGET_DIR)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return WIDGET_DIR / "node_modules"


def axe_source() -> str:
    return (node_modules() / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


def built_widget(out: Path) -> dict[str, bytes]:
    """What widget/build.mjs makes now from its sources (ticker/static/widget.js, widget-history.js), by name; built
    into ``out``, an empty directory."""
    assert NODE is not None
    node_modules()
    done = subprocess.run([NODE, str(WIDGET_DIR / "build.mjs"), "--out", str(out)], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return {path.name: path.read_bytes() for path in sorted(out.iterdir())}
