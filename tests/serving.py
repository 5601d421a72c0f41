"""A real `ticker serve` process, for the tests that need one: its environment, started up to its listening line,
stopped with SIGTERM, killed on the way out if it is still running."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

SOURCES = ("NBK", "CBR", "OPEN_METEO", "MET_NO", "OPEN_METEO_AIR")


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


@dataclass
class Served:
    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)  # stderr up to the listening line

    async def stop(self) -> int:
        """SIGTERM, and the exit code (30 s is a bound on a hang, not a timing)."""
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 30)

    async def log(self) -> str:
        """All of stderr, once the process has ended."""
        assert self.proc.stderr is not None
        return "".join(self.lines) + (await self.proc.stderr.read()).decode()


@contextlib.asynccontextmanager
async def serving(env: dict[str, str]) -> AsyncIterator[Served]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ticker", "serve", env=env, stderr=asyncio.subprocess.PIPE
    )
    served = Served(proc)
    try:
        served.lines = await until_listening(proc)
        yield served
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
