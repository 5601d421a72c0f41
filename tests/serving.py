"""A real `ticker serve` process, for the tests that need one: its environment and its lines up to listening."""

from __future__ import annotations

import asyncio
import os

SOURCES = ("NBK", "CBR", "OPEN_METEO", "MET_NO")


def serve_env(upstream_url: str, port: int, **extra: str) -> dict[str, str]:
    """This process's environment without its TICKER_ variables, every source pointed at ``upstream_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKER_")}
    env.update({f"TICKER_{source}__BASE_URL": upstream_url for source in SOURCES})
    env.update({"TICKER_PORT": str(port), "TICKER_HOST": "127.0.0.1", **extra})
    return env


async def until_listening(proc: asyncio.subprocess.Process, timeout: float = 20) -> list[str]:
    """The stderr lines up to and with the "listening on" one (a bound on a hang, not a timing)."""
    assert proc.stderr is not None
    lines: list[str] = []
    async with asyncio.timeout(timeout):
        while not any(" listening on " in line for line in lines):
            line = (await proc.stderr.readline()).decode()
            assert line, "ticker serve exited early:\n" + "".join(lines)
            lines.append(line)
    return lines
