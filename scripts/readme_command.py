"""Print one of the README's marked commands, so that CI runs exactly what the README says (no copy to drift).

    python3 scripts/readme_command.py run      # the line under <!-- command: run ... -->
    python3 scripts/readme_command.py test
    python3 scripts/readme_command.py recipe nginx.conf   # the block under <!-- recipe: nginx.conf ... -->

A marker is an HTML comment ``<!-- command: NAME ... -->`` directly above a fenced ``sh`` block holding one line,
or ``<!-- recipe: NAME ... -->`` directly above a fenced block of any language and any length (the embedding
recipes scripts/embed-test runs).
Standard library only: it runs before any virtual environment exists.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def command(name: str, text: str) -> str:
    pattern = rf"^<!-- command: {re.escape(name)}\b[^\n]*-->\n```sh\n(?P<body>[^\n]+)\n```$"
    found = re.findall(pattern, text, flags=re.MULTILINE)
    if len(found) != 1:
        raise SystemExit(f"readme_command: README.md has {len(found)} one-line sh blocks marked 'command: {name}'")
    return str(found[0]).strip()


def recipe(name: str, text: str) -> str:
    """The body of the one fenced block marked ``<!-- recipe: NAME ... -->``, exactly as written (with its last
    newline)."""
    pattern = rf"^<!-- recipe: {re.escape(name)}(?:\s[^\n]*)?-->\n```[a-z]*\n(?P<body>.*?\n)```$"
    found = re.findall(pattern, text, flags=re.MULTILINE | re.DOTALL)
    if len(found) != 1:
        raise SystemExit(f"readme_command: README.md has {len(found)} fenced blocks marked 'recipe: {name}'")
    return str(found[0])


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    if len(argv) == 2 and argv[0] == "recipe":
        sys.stdout.write(recipe(argv[1], text))
        return 0
    if len(argv) != 1:
        raise SystemExit("usage: readme_command.py run|test|recipe NAME")
    print(command(argv[0], text))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
