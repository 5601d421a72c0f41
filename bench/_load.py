"""Load generation for http_ratio.py: wrk (preferred) or a Python aiohttp client, and server CPU time.

``measure(group)`` loads every target of the group at the same time, each with its own generator and
the same concurrency, and returns for each its requests/s and its requests per second of server CPU time
(utime + stime of the server process from /proc, so time the server spent descheduled does not count).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from _common import HOST, pinned


@dataclass
class Target:
    name: str
    port: int
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    pid: int = 0  # the server process, for its CPU time
    rps: list[float] = field(default_factory=list)
    per_cpu: list[float] = field(default_factory=list)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_argv(target: Target, concurrency: int, duration: float, core: int | None) -> list[str]:
    argv = ["wrk", "-t1", f"-c{concurrency}", f"-d{duration:g}s"]
    for name, value in target.headers.items():
        argv += ["-H", f"{name}: {value}"]
    return pinned(core, [*argv, f"http://{HOST}:{target.port}{target.path}"])


def wrk_result(target: Target, out: str) -> tuple[float, int]:
    if "Non-2xx or 3xx" in out or "Socket errors" in out:
        raise RuntimeError(f"{target.name}: errors under load:\n{out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rate or not total:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    return float(rate.group(1)), int(total.group(1))


async def py_load(target: Target, concurrency: int, duration: float) -> tuple[float, int]:
    """The fallback generator: keep-alive connections, only the Host header (like wrk)."""
    url = f"http://{HOST}:{target.port}{target.path}"
    count = 0
    deadline = time.monotonic() + duration

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal count
        while time.monotonic() < deadline:
            async with session.get(url, headers=target.headers) as resp:
                await resp.read()
                if resp.status != target.status:
                    raise RuntimeError(f"{target.name}: status {resp.status}")
            count += 1

    skip = ("Accept-Encoding", "User-Agent", "Accept")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), skip_auto_headers=skip) as session:
        start = time.monotonic()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return count / (time.monotonic() - start), count


async def _py_group(group: list[Target], concurrency: int, duration: float) -> list[tuple[float, int]]:
    return list(await asyncio.gather(*(py_load(t, concurrency, duration) for t in group)))


def measure(
    group: list[Target], concurrency: int, duration: float, core: int | None, generator: str
) -> list[tuple[float, float]]:
    cpu = [cpu_seconds(t.pid) for t in group]
    if generator == "wrk":
        argvs = [wrk_argv(t, concurrency, duration, core) for t in group]
        procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for argv in argvs]
        results = [wrk_result(t, p.communicate()[0]) for t, p in zip(group, procs, strict=True)]
    else:
        results = asyncio.run(_py_group(group, concurrency, duration))
    used = [cpu_seconds(t.pid) - c for t, c in zip(group, cpu, strict=True)]
    return [(rps, total / max(0.01, u)) for (rps, total), u in zip(results, used, strict=True)]
