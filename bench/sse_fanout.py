#!/usr/bin/env python3
"""SSE fan-out: N subscribers of `ticker serve` connecting at once; how soon has each the strip, and each change?

    python bench/sse_fanout.py [--clients 10000] [--changes 3] [--workers 1]

This process (pinned to --client-core) runs the fake upstream (tests/fakes.py's Upstream, as
scripts/fake_upstream.py does, in process, so it can change the NBK USD rate) and N minimal EventSource-like
readers of GET /v1/stream (raw asyncio protocols: a client costing little per connection, so the figures are
the server's). `ticker serve` runs alone on --server-core with TICKER_NBK__INTERVAL=1 (in-process store;
with --workers N > 1, `serve --workers N` on all cores with a private redis-server on the client core).

1. **Storm**: all N connect at the same instant (no batching). Per subscriber: connect started -> its first
   `event: ticker` read. Goal: all N within 2 s.
2. **RSS**: the server's resident memory (VmRSS from /proc, summed over workers) before and after, divided
   by N.
3. **Changes**: the USD rate is set to a new value; per subscriber, the fake serving the new NBK document
   -> that subscriber reading the event that carries it (fetch, parse, store, snapshot, render, fan-out;
   an upper bound, since ticker receives the document slightly after the fake sends it). "fetch wait"
   (change made -> served) is ticker's fetch schedule, shown for information. Goal: all N within 0.5 s.

The open-file limit is raised to its hard limit here (the server inherits it); N + 200 descriptors are
needed on each side (`ulimit -n` in the shell if the hard limit is lower).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
from _common import (  # noqa: E402
    HOST,
    Procs,
    free_port,
    machine,
    percentile,
    pinned,
    start_redis,
    ticker_argv,
    ticker_env,
)
from _load import cpu_seconds  # noqa: E402

from tests.fakes import Upstream  # noqa: E402

BASE_RATE = 500.0
FIRST = b"\nevent: ticker\ndata: "


class Bench:
    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.firsts: list[float] = []  # connect started -> first event, per subscriber (s)
        self.all_first = asyncio.Event()
        self.refused = 0
        self.failed = 0
        self.marker: bytes | None = None  # the bytes of the current change in the strip JSON
        self.served_at: float | None = None
        self.arrivals: list[float] = []
        self.everyone = asyncio.Event()  # set when all subscribers have the current change

    def served(self, request: web.Request, response: web.StreamResponse) -> None:
        """on_response_prepare of the fake: the first NBK document carrying the current change."""
        marker = self.marker
        if marker is None or self.served_at is not None or not request.path.startswith("/rss/"):
            return
        body = response.body if isinstance(response, web.Response) else None
        if isinstance(body, bytes | bytearray) and b">" + marker.split(b":")[1] in body:
            self.served_at = time.monotonic()

    def done_first(self) -> None:
        if len(self.firsts) + self.refused + self.failed >= self.clients:
            self.all_first.set()


class Subscriber(asyncio.Protocol):
    """GET /v1/stream over a raw connection; looks for the first event, then for each change's marker."""

    def __init__(self, bench: Bench, request: bytes, started: float) -> None:
        self.bench, self.request, self.started = bench, request, started
        self.tail = b""
        self.first = False
        self.seen: bytes | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport is no asyncio.Transport
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        bench = self.bench
        buf = self.tail + data
        if not self.first:
            if buf.startswith(b"HTTP/1.1 503"):
                bench.refused += 1
                bench.done_first()
                self.first = True
                return
            if FIRST in buf:
                self.first = True
                bench.firsts.append(time.monotonic() - self.started)
                bench.done_first()
        marker = bench.marker
        if marker is not None and marker != self.seen and marker in buf:
            self.seen = marker
            bench.arrivals.append(time.monotonic())
            if len(bench.arrivals) == len(bench.firsts):
                bench.everyone.set()
        self.tail = buf[-64:]


def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def open_sockets(pid: int) -> int:
    count = 0
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return count


def server_pids(pid: int, workers: int) -> list[int]:
    if workers <= 1:
        return [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children]


async def poll_ready(session: aiohttp.ClientSession, base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{base}/readyz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("ticker not ready")


async def run(args: argparse.Namespace, procs: Procs) -> bool:
    bench = Bench(args.clients)
    fake = Upstream()
    fake.nbk_date = None  # the same rates on every date, as scripts/fake_upstream.py serves them
    fake.rates["USD"] = (f"{BASE_RATE:.2f}", 1, "", "0.00")
    upstream_app = fake.app()

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        bench.served(request, response)

    upstream_app.on_response_prepare.append(on_prepare)
    runner = web.AppRunner(upstream_app, access_log=None)
    await runner.setup()
    upstream = free_port()
    await web.TCPSite(runner, HOST, upstream).start()
    port = free_port()
    extra = {"TICKER_NBK__INTERVAL": "1", "TICKER_SSE_MAX_CLIENTS": str(args.max_clients)}
    argv = ticker_argv()
    core: int | None = args.server_core
    if args.workers > 1:
        extra["TICKER_REDIS_URL"] = f"redis://{HOST}:{start_redis(procs, args.client_core)}/0"
        argv += ["--workers", str(args.workers)]
        core = None  # the workers share the machine's cores
    server = procs.start(pinned(core, argv), ticker_env(port, upstream, **extra))
    base = f"http://{HOST}:{port}"
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []
    ok = True
    async with aiohttp.ClientSession() as session:
        try:
            await poll_ready(session, base)
            if args.workers > 1:  # every worker up and ready, so the subscribers spread
                await asyncio.sleep(2)
            pids = server_pids(server.pid, args.workers)
            rss_before = rss_kb(pids)
            sockets_before = {pid: open_sockets(pid) for pid in pids}
            request = f"GET /v1/stream HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()

            async def connect() -> None:
                started = time.monotonic()
                try:
                    transport, _ = await loop.create_connection(lambda: Subscriber(bench, request, started), HOST, port)
                    transports.append(transport)
                except OSError:
                    bench.failed += 1
                    bench.done_first()

            cpu_before = sum(cpu_seconds(pid) for pid in pids)
            storm_start = time.monotonic()
            connecting = [asyncio.create_task(connect()) for _ in range(args.clients)]  # all at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bench.all_first.wait(), args.timeout * 3)
            storm = time.monotonic() - storm_start
            cpu_storm = sum(cpu_seconds(pid) for pid in pids) - cpu_before
            await asyncio.gather(*connecting)
            await asyncio.sleep(1)  # let the server settle before reading its memory
            rss_after = rss_kb(pids)
            got = len(bench.firsts)
            firsts = [t * 1000 for t in bench.firsts] or [float("nan")]
            print(
                f"storm: {args.clients} connecting at once; {got} had the strip after {storm:.2f} s "
                f"(per subscriber, connect -> first event: p50 {percentile(firsts, 50):.0f} ms, "
                f"p99 {percentile(firsts, 99):.0f} ms, max {max(firsts):.0f} ms); "
                f"refused (503) {bench.refused}, connect errors {bench.failed}; server CPU {cpu_storm:.2f} s"
            )
            ok &= got == args.clients and max(firsts) <= 2000
            print(
                f"server RSS: {rss_before / 1024:.1f} MB before, {rss_after / 1024:.1f} MB after: "
                f"{(rss_after - rss_before) / max(got, 1):.1f} KB per subscriber"
            )
            if args.workers > 1:
                spread = [open_sockets(pid) - sockets_before[pid] for pid in pids]
                print(f"subscribers per worker (open sockets added): {spread}")

            print(f"\n{'change':<8}{'fetch wait':>11}{'first':>8}{'p50':>8}{'p99':>8}{'max':>8}  all within 0.5 s")
            for change in range(1, args.changes + 1):
                await asyncio.sleep(args.pause)
                text = f"{BASE_RATE + change / 100:.2f}"  # as NBK writes it; the strip has the float's repr
                bench.arrivals, bench.served_at, bench.everyone = [], None, asyncio.Event()
                bench.marker = f'"rate":{float(text)!r}'.encode()
                fake.rates["USD"] = (text, 1, "UP", f"+{change / 100:.2f}")
                changed_at = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(bench.everyone.wait(), args.timeout)
                if bench.served_at is None or not bench.arrivals:
                    print(f"{change:<8} no delivery within {args.timeout} s (served: {bench.served_at is not None})")
                    ok = False
                    continue
                lat = [(t - bench.served_at) * 1000 for t in bench.arrivals]
                within = sum(1 for v in lat if v <= 500)
                ok &= within == got
                print(
                    f"{change:<8}{(bench.served_at - changed_at) * 1000:>9.0f}ms{min(lat):>6.0f}ms"
                    f"{percentile(lat, 50):>6.0f}ms{percentile(lat, 99):>6.0f}ms{max(lat):>6.0f}ms"
                    f"  {within}/{got} received, {'yes' if within == got else 'NO'}"
                )
        finally:
            for transport in transports:
                transport.close()
            await runner.cleanup()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=3)
    parser.add_argument("--pause", type=float, default=2.5, help="seconds before each change")
    parser.add_argument("--timeout", type=float, default=10, help="seconds to wait for a change to reach all")
    parser.add_argument("--workers", type=int, default=1, help="`serve --workers N` (N > 1 starts redis-server)")
    parser.add_argument("--max-clients", type=int, default=20000, help="TICKER_SSE_MAX_CLIENTS for the server")
    parser.add_argument(
        "--uvloop", action="store_true", help="run the subscribers on uvloop (pip install uvloop): a cheaper client"
    )
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.clients + 200
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise SystemExit(f"open-file limit {hard} < {need}: raise it (ulimit -n) or use fewer --clients")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need if hard == resource.RLIM_INFINITY else hard, hard))
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.client_core})
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print("machine:", machine(), f"open-file limit={resource.getrlimit(resource.RLIMIT_NOFILE)[0]}")
    where = f"on core {args.server_core}" if args.workers <= 1 else f"with --workers {args.workers} on all cores"
    print(f"ticker {where}; subscribers and fake upstream on core {args.client_core}")
    with Procs() as procs:
        if args.uvloop:
            import uvloop

            ok = uvloop.run(run(args, procs))
        else:
            ok = asyncio.run(run(args, procs))
    verdict = "met" if ok else "NOT met"
    print(f"\ngoals: the strip at all {args.clients} within 2 s of a storm, each change within 0.5 s -> {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
