"""The README's two commands: read from the README by CI (no copy to drift), and shaped for a stock system Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_command(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme_command.py"), name], capture_output=True, text=True
    )


@pytest.mark.parametrize(("name", "last"), [("run", ".venv/bin/ticker serve"), ("test", ".venv/bin/python -m pytest")])
def test_each_command_makes_and_uses_a_virtual_environment(name: str, last: str) -> None:
    found = readme_command(name)
    assert found.returncode == 0, found.stderr
    steps = [step.strip() for step in found.stdout.strip().split("&&")]
    # never the system's pip (absent on Debian, or refused under PEP 668): the venv's own
    assert steps[0] == "python3 -m venv .venv"
    assert steps[1].startswith(".venv/bin/pip install ")
    assert steps[-1] == last


def test_an_unmarked_command_is_an_error_not_an_empty_line() -> None:
    found = readme_command("deploy")
    assert found.returncode != 0 and found.stdout == ""
    assert "0 one-line sh blocks marked 'command: deploy'" in found.stderr


def test_ci_runs_the_test_command_from_the_readme() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "$(python3 scripts/readme_command.py test)" in ci
    assert "scripts/readme-test" in ci
