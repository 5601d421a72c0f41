"""Release hygiene and scale-out: the wheel's contents, --version, and --workers sharing one port."""

from __future__ import annotations

import asyncio
import configparser
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import Upstreams
from tests.redis_proc import free_port
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
    assert {"ticker/app.py", "ticker/cli.py", "ticker/static/widget.js", "ticker/static/index.html"} <= names
    providers = {n for n in names if n.startswith("providers/") and n.endswith(".py")}
    assert {"providers/__init__.py", "providers/base.py", "providers/nbk.py", "providers/cbr.py"} <= providers
    assert not [n for n in names if n.startswith(("tests/", "bench/", "scripts/")) or "/tests/" in n]
    assert dict(scripts["console_scripts"]) == {"ticker": "ticker.cli:main"}


def test_version() -> None:
    out = subprocess.run([sys.executable, "-m", "ticker", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"ticker {__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", __version__)


def test_changelog_names_this_version() -> None:
    assert f"## {__version__}" in (ROOT / "CHANGELOG.md").read_text()


async def test_workers_share_one_port_and_fetch_once(live_upstream: Upstreams, redis_url: str) -> None:
    upstream = live_upstream
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKER_")}
    env.update({f"TICKER_{s}__BASE_URL": upstream.url for s in ("NBK", "CBR", "OPEN_METEO", "MET_NO")})
    # no history backfill: the test counts the strip's requests to NBK
    env.update({"TICKER_REDIS_URL": redis_url, "TICKER_LOG_LEVEL": "DEBUG", "TICKER_HISTORY__DAYS": "0"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ticker", "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port),
        env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    listening, outcomes, seen = 0, [], []
    try:
        async with asyncio.timeout(30):
            while listening < 2 or "ok" not in outcomes:
                line = (await proc.stderr.readline()).decode()
                assert line, "".join(seen)
                seen.append(line)
                listening += f"listening on 127.0.0.1:{port}" in line  # each worker fetched what was due first
                if "nbk: today run ended:" in line:
                    outcomes.append(line.split("run ended: ")[1].split()[0])
        assert outcomes.count("ok") == 1, outcomes  # the other worker found the run claimed, or done already
        assert upstream.fake.hits["nbk"] == 1
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
