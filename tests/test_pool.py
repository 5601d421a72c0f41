"""`ticker serve --workers 2` for real: gunicorn's master and two aiohttp workers on one port, the suite's own
redis-server, the fake upstreams on the real clock (the pool runs on it).

Which worker answered: `/metrics` names its process (`ticker_process_info{pid="..."}`), and the master's children
are read from /proc. A request that must reach a known worker rides the same kept-alive connection as a
`/metrics` request that named it. Waits are bounded polls of a process we do not control the timing of.

Request loops: across SIGHUP (a graceful swap) they speak HTTP/1.1 by hand and never retry, so any request an
old worker dropped is a failure. Elsewhere they use one aiohttp ClientSession, which, like browsers, retries an
idempotent request once when its connection breaks (RFC 9112 section 9.3.1): a request in flight inside a worker
that gets SIGKILL dies with it whatever the server does; what must hold is that the retry is answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import SettingsFactory, Upstreams
from tests.redis_proc import free_port
from tests.test_stream import next_event
from ticker.run.cli import SHUTDOWN_TIMEOUT
from ticker.run.pool import options

ROOT = Path(__file__).resolve().parent.parent
PID = re.compile(r'^ticker_process_info\{pid="(\d+)"\} 1\.0$', re.MULTILINE)
NBK_PATH = "/rss/get_rates.cfm"


async def poll(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    """Until ``check()`` holds: bounded, for processes whose timing is not ours."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - another process: nothing to await but its answers
            await asyncio.sleep(0.05)


async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    async def check() -> bool:
        return condition()

    await poll(check, timeout)


def pool_env(upstream: str, redis_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKER_")}
    env.update({f"TICKER_{s}__BASE_URL": upstream for s in ("NBK", "CBR", "OPEN_METEO", "MET_NO")})
    env.update({"TICKER_HOST": "127.0.0.1", "TICKER_SSE_HEARTBEAT": "60", "PYTHONPATH": str(ROOT)})
    env["TICKER_HISTORY__DAYS"] = "0"  # no backfill: tests count the strip's own NBK requests (tests/test_backfill.py)
    if redis_url:
        env["TICKER_REDIS_URL"] = redis_url
    env.update(extra)
    return env


class Pool:
    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        assert proc.stderr is not None
        self._reader = asyncio.create_task(self._read(proc.stderr))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode())

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def children(self) -> set[int]:
        """The master's live child processes: its workers."""
        pid = self.proc.pid
        return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}

    async def answering(self) -> int:
        """The pid of the worker that answers a request on a new connection."""
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            return await worker_of(session, self.url)

    async def serving(self, workers: set[int]) -> None:
        """Until each of ``workers`` has answered a request (the kernel hands new connections to any of them)."""
        seen: set[int] = set()

        async def all_seen() -> bool:
            with suppress(aiohttp.ClientError):
                seen.add(await self.answering())
            return workers <= seen

        await poll(all_seen)

    async def stop(self) -> int:
        """SIGTERM and wait: no worker outlives its test (an orphan would write to the next test's Redis).
        Only a pool that hangs is killed, workers first."""
        if self.proc.returncode is None:
            workers = self.children()
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), SHUTDOWN_TIMEOUT + 10)
            except TimeoutError:
                for pid in workers | self.children():
                    with suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.proc.kill()
        code = await self.proc.wait()
        await self._reader
        return code


async def worker_of(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(f"{url}/metrics") as resp:
        assert resp.status == 200
        (pid,) = PID.findall(await resp.text())
    return int(pid)


@asynccontextmanager
async def running_pool(env: dict[str, str], workers: int = 2) -> AsyncIterator[Pool]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ticker", "serve", "--workers", str(workers), "--port", str(port),
        cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    pool = Pool(proc, port)
    try:
        await until(lambda: len(pool.children()) == workers)
        await pool.serving(pool.children())
        yield pool
    finally:
        code = await pool.stop()
    assert code == 0, pool.log
    assert "Traceback" not in pool.log, pool.log
    # the first-start line, once for the pool (not per worker, not again on a reload)
    listening = [line for line in pool.lines if " listening on " in line]
    assert len(listening) == 1 and f"listening on 127.0.0.1:{port} with {workers} workers" in listening[0], pool.log


class Hammer:
    """Requests in loops until the block ends; every answer that is not a 200 and every request that raised is a
    failure. With ``raw=False``, aiohttp's ClientSession (kept-alive connections, its one retry: see above).
    With ``raw=True``, HTTP/1.1 by hand with no retry at all: the odd loops open a connection per request, the
    even ones keep theirs until an answer says ``Connection: close``."""

    def __init__(self, url: str, paths: tuple[str, ...] = ("/healthz",), loops: int = 2, raw: bool = False) -> None:
        self.url, self.paths, self.loops, self.raw = url, paths, loops, raw
        self.ok = 0
        self.failures: list[str] = []

    def _count(self, path: str, status: int) -> None:
        if status == 200:
            self.ok += 1
        else:
            self.failures.append(f"{path}: {status}")

    async def _loop(self, session: aiohttp.ClientSession, path: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with session.get(self.url + path) as resp:
                    await resp.read()
                    self._count(path, resp.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.failures.append(f"{path}: {exc!r}")

    async def _raw_loop(self, path: str, keep: bool, stop: asyncio.Event) -> None:
        host, port = self.url.removeprefix("http://").split(":")
        close = "" if keep else "Connection: close\r\n"
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{close}\r\n"
        writer: asyncio.StreamWriter | None = None
        while not stop.is_set():
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(request.encode())
                head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)).decode("latin-1")
                length = re.search(r"(?im)^content-length: *(\d+)", head)
                if length is None:
                    raise ValueError(f"no Content-Length in {head!r}")
                await reader.readexactly(int(length.group(1)))
                self._count(path, int(head.split(" ", 2)[1]))
                if not keep or re.search(r"(?im)^connection: *close", head):
                    writer.close()
                    writer = None
            except (OSError, EOFError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
                self.failures.append(f"{path} ({'kept' if keep else 'new'} connection): {exc!r}")
                if writer is not None:
                    writer.close()
                writer = None
        if writer is not None:
            writer.close()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Hammer]:
        stop = asyncio.Event()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
            paths = [self.paths[i % len(self.paths)] for i in range(self.loops)]
            if self.raw:
                loops = [self._raw_loop(path, i % 2 == 0, stop) for i, path in enumerate(paths)]
            else:
                loops = [self._loop(session, path, stop) for path in paths]
            tasks = [asyncio.create_task(loop) for loop in loops]
            try:
                await until(lambda: self.ok > 0)
                yield self
            finally:
                stop.set()
                await asyncio.gather(*tasks)


async def test_a_killed_worker_is_replaced_while_requests_keep_being_answered(
    live_upstream: Upstreams, redis_url: str
) -> None:
    async with running_pool(pool_env(live_upstream.url, redis_url)) as pool:
        before = pool.children()
        victim, survivor = sorted(before)
        async with Hammer(pool.url).running() as hammer:
            os.kill(victim, signal.SIGKILL)
            answered_at_kill = hammer.ok
            await until(lambda: len(pool.children() - before) == 1)
            (replacement,) = pool.children() - before
            assert pool.children() == {survivor, replacement}
            await pool.serving({replacement, survivor})
        assert hammer.failures == []
        assert hammer.ok > answered_at_kill
        assert f"Worker (pid:{victim}) was sent SIGKILL" in pool.log


async def test_sighup_replaces_every_worker_without_a_failed_request(live_upstream: Upstreams, redis_url: str) -> None:
    async with running_pool(pool_env(live_upstream.url, redis_url)) as pool:
        old = pool.children()
        # no client retry: a request the old workers dropped would show here
        async with Hammer(pool.url, ("/healthz", "/v1/ticker"), loops=4, raw=True).running() as hammer:
            assert pool.proc.pid not in old
            pool.proc.send_signal(signal.SIGHUP)
            # new workers start, the old ones drain and leave
            await until(lambda: len(pool.children()) == 2 and not pool.children() & old)
            new = pool.children()
            answered_before = hammer.ok
            await pool.serving(new)
            await until(lambda: hammer.ok > answered_before)
        assert hammer.failures == []


async def stream_on_each_worker(
    pool: Pool, workers: set[int], stack: list[aiohttp.ClientSession]
) -> dict[int, aiohttp.ClientResponse]:
    """One open /v1/stream per worker: each asked on a connection that a /metrics request had just named."""
    streams: dict[int, aiohttp.ClientResponse] = {}

    async def one_more() -> bool:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
        pid = await worker_of(session, pool.url)
        if pid in streams:
            await session.close()
            return False
        stack.append(session)
        resp = await session.get(f"{pool.url}/v1/stream")
        assert resp.status == 200
        assert (await next_event(resp)) == {"retry": "5000"}
        assert (await next_event(resp))["event"] == "ticker"
        streams[pid] = resp
        return workers <= streams.keys()

    await poll(one_more)
    return streams


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_sigterm_and_sigint_close_every_workers_streams_and_exit_0(
    live_upstream: Upstreams, redis_url: str, signum: signal.Signals
) -> None:
    sessions: list[aiohttp.ClientSession] = []
    async with running_pool(pool_env(live_upstream.url, redis_url)) as pool:
        workers = pool.children()
        try:
            streams = await stream_on_each_worker(pool, workers, sessions)
            pool.proc.send_signal(signum)
            for resp in streams.values():
                final = await next_event(resp)
                while final.get("event") == "ticker":  # a fetch landing may race the signal
                    final = await next_event(resp)
                assert final["event"] == "close"
                assert await resp.content.read() == b""  # and the stream ends
            # a bound on a hang, not a timing: gunicorn kills what is left at SHUTDOWN_TIMEOUT
            code = await asyncio.wait_for(pool.proc.wait(), SHUTDOWN_TIMEOUT + 10)
        finally:
            for session in sessions:
                await session.close()
        assert code == 0
        assert "Shutting down: Master" in pool.log


async def test_healthz_and_metrics_answer_from_every_worker(live_upstream: Upstreams, redis_url: str) -> None:
    async with running_pool(pool_env(live_upstream.url, redis_url)) as pool:
        workers = pool.children()
        healthy: set[int] = set()

        async def one_more() -> bool:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
                pid = await worker_of(session, pool.url)
                async with session.get(f"{pool.url}/healthz") as resp:  # the same connection, the same worker
                    assert resp.status == 200
                    assert (await resp.json())["status"] == "ok"
                    healthy.add(pid)
            return workers <= healthy

        await poll(one_more)
        assert healthy == workers


async def test_one_fetcher_across_the_pool(live_upstream: Upstreams, redis_url: str) -> None:
    env = pool_env(live_upstream.url, redis_url, TICKER_LOG_LEVEL="DEBUG")
    async with running_pool(env) as pool:
        workers = pool.children()
        ok: dict[int, float] = {}

        async def fetched() -> bool:  # every worker has started its scheduler, and NBK has been fetched
            connector = aiohttp.TCPConnector(force_close=True)
            async with aiohttp.ClientSession(connector=connector) as session, session.get(f"{pool.url}/metrics") as r:
                text = await r.text()
            (pid,) = PID.findall(text)
            found = re.search(r'^ticker_fetches_total\{outcome="ok",source="nbk"\} ([\d.]+)$', text, re.MULTILINE)
            ok[int(pid)] = float(found.group(1)) if found else 0.0
            return workers <= ok.keys() and sum(ok.values()) >= 1

        await poll(fetched)
        asked = live_upstream.fake.asked(NBK_PATH)
        days = [query.get("fdate") for query in asked]
        assert asked and len(days) == len(set(days)), asked  # each planned run (one per date) asked once
        assert sum(ok.values()) == len(asked)  # by one worker; the other found the run claimed or done
        assert len(live_upstream.fake.asked("/v1/forecast")) == 1


async def test_max_requests_recycles_a_worker(live_upstream: Upstreams, redis_url: str) -> None:
    env = pool_env(live_upstream.url, redis_url, TICKER_MAX_REQUESTS="30")
    async with running_pool(env) as pool:
        before = pool.children()
        async with Hammer(pool.url).running() as hammer:
            await until(lambda: bool(pool.children() - before))
        assert hammer.failures == []
        assert "Max requests, shutting down" in pool.log


def serve_workers_2(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticker", "serve", "--workers", "2", "--port", str(free_port())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_workers_without_redis_refuse_with_exit_2() -> None:
    result = serve_workers_2(pool_env("http://127.0.0.1:9", None))
    assert result.returncode == 2
    assert "--workers > 1 needs TICKER_REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert "gunicorn" not in result.stderr  # refused before any master started


def test_a_bad_variable_stops_the_pool_before_any_worker_forks(redis_url: str) -> None:
    result = serve_workers_2(pool_env("http://127.0.0.1:9", redis_url, TICKER_NBK__INTERVAL="0"))
    assert result.returncode == 2
    assert "TICKER_NBK__INTERVAL" in result.stderr
    assert "Booting worker" not in result.stderr and "Traceback" not in result.stderr


async def test_a_single_process_never_imports_gunicorn(live_upstream: Upstreams) -> None:
    """`serve` (one worker) really serving, then stopped: what did the process import?"""
    port = free_port()
    code = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'gunicorn'))))\n"
        "from ticker.run.cli import main\n"
        f"sys.exit(main(['serve', '--port', '{port}']))\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, cwd=ROOT, env=pool_env(live_upstream.url, None),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:

        async def answers() -> bool:
            with suppress(aiohttp.ClientError):
                async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as r:
                    return r.status == 200
            return False

        await poll(answers)
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert json.loads(out.decode().strip().splitlines()[-1]) == []


def test_the_pool_replaces_workers_at_staggered_counts_and_drains_within_five_seconds(
    make_settings: SettingsFactory,
) -> None:
    """README: a worker is replaced after about TICKER_MAX_REQUESTS requests, "plus up to a tenth more at random so
    the workers do not all go at once; 0: never"; SIGTERM drains every worker "and exit 0 within 5 s" (gunicorn
    kills a worker still running ``graceful_timeout`` after the signal)."""
    staggered = options(make_settings(max_requests=1000), workers=2)
    assert (staggered["max_requests"], staggered["max_requests_jitter"]) == (1000, 100)
    never = options(make_settings(), workers=2)
    assert (never["max_requests"], never["max_requests_jitter"]) == (0, 0)  # gunicorn: 0 replaces no worker
    graceful = staggered["graceful_timeout"]
    assert isinstance(graceful, int) and 0 < graceful <= 5
