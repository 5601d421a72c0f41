"""Print one of the README's marked commands, so that CI runs exactly what the README says (no copy to drift).

    python3 scripts/readme_command.py run      # the line under <!-- command: run ... -->
    python3 scripts/readme_command.py test

A marker is an HTML comment ``<!-- command: NAME ... -->`` directly above a fenced ``sh`` block holding one line.
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


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        raise SystemExit("usage: readme_command.py run|test")
    print(command(argv[0], README.read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
