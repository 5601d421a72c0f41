"""The README's two commands and its embedding recipes: read from the README by CI (no copy to drift), the commands
shaped for a stock system Python."""

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


RECIPES = ("nginx.conf", "nginx-page.html", "varnish.vcl", "varnish-page.html", "ticker_strip.php", "page.php")


@pytest.mark.parametrize("name", RECIPES)
def test_each_embedding_recipe_is_one_marked_block_ci_runs(name: str) -> None:
    found = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme_command.py"), "recipe", name], capture_output=True, text=True
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.endswith("\n") and "```" not in found.stdout  # the block's body alone, whole
    assert "127.0.0.1:8080" in found.stdout or '.port = "8080"' in found.stdout or "page" in name
    assert f'"{name}"' in (ROOT / "scripts" / "embed_sites.py").read_text()  # scripts/embed-test runs it
    assert "scripts/embed-test" in (ROOT / ".ci" / "run").read_text()


def test_an_unmarked_recipe_is_an_error() -> None:
    found = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme_command.py"), "recipe", "apache.conf"],
        capture_output=True,
        text=True,
    )
    assert found.returncode != 0 and found.stdout == ""
    assert "0 fenced blocks marked 'recipe: apache.conf'" in found.stderr
