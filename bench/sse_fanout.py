#!/usr/bin/env python3
"""SSE fan-out: do N subscribers of one `ticker serve` process all get a change within 1 s of its arrival?

    python bench/sse_fanout.py [--clients 1000] [--changes 3]

This process (pinned to --client-core) runs the fake upstream (tests/fakes.py's Upstream, as
scripts/fake_upstream.py does, in process, so it can change the NBK USD rate) and N EventSource-like readers
of GET /v1/stream on one aiohttp ClientSession (connector limit 0). `ticker serve` runs alone on --server-core
with its in-process store and TICKER_NBK__INTERVAL=1. For each change the USD rate is set to a new value and
we record:

  fetch wait     change made -> the fake serves the new document to ticker (ticker's fetch schedule:
                 up to the 1 s interval; not ticker's latency, shown for information);
  served -> k-th the fake serving the new value -> each subscriber reading the event that carries it
                 (fetch, parse, snapshot, render and fan-out: the latency the goal is about; an upper
                 bound, since ticker receives the document a little after the fake serves it);
  spread         the first subscriber's event -> the last one's.

The goal holds when every subscriber has the change within 1 s of "served". The open-file limit is raised
to its hard limit here (the server inherits it); N + 100 descriptors are needed on each side.
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
from _common import HOST, Procs, free_port, machine, percentile, pinned, ticker_argv, ticker_env  # noqa: E402

from tests.fakes import Upstream  # noqa: E402

BASE_RATE = 500.0


class Bench:
    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.connected = 0
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

    async def subscriber(self, session: aiohttp.ClientSession, url: str, ready: asyncio.Event) -> None:
        seen: bytes | None = None
        async with session.get(url, headers={"Accept": "text/event-stream"}) as resp:
            assert resp.status == 200, resp.status
            async for line in resp.content:
                if not line.startswith(b"data: "):
                    continue
                if not ready.is_set():
                    ready.set()
                    self.connected += 1
                marker = self.marker
                if marker is not None and marker != seen and marker in line:
                    self.arrivals.append(time.monotonic())
                    seen = marker
                    if len(self.arrivals) == self.clients:
                        self.everyone.set()


async def poll_ready(session: aiohttp.ClientSession, base: str, timeout: float = 30) -> None:
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
    env = ticker_env(port, upstream, TICKER_NBK__INTERVAL="1")
    procs.start(pinned(args.server_core, ticker_argv()), env)
    base = f"http://{HOST}:{port}"
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=None)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout)
    tasks: list[asyncio.Task[None]] = []
    ok = True
    try:
        await poll_ready(session, base)
        start = time.monotonic()
        for batch in range(0, args.clients, 100):  # in batches: the listen backlog is 128
            events = [asyncio.Event() for _ in range(min(100, args.clients - batch))]
            tasks += [asyncio.create_task(bench.subscriber(session, f"{base}/v1/stream", e)) for e in events]
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 30)
        async with session.get(f"{base}/metrics") as resp:
            streams = [ln for ln in (await resp.text()).splitlines() if ln.startswith("ticker_sse_clients")]
        print(f"{bench.connected} subscribers connected in {time.monotonic() - start:.1f} s; server: {streams}")

        print(
            f"\n{'change':<8}{'fetch wait':>11}{'first':>8}{'p50':>8}{'p99':>8}{'max':>8}{'spread':>8}  all within 1 s"
        )
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
            within = sum(1 for v in lat if v <= 1000)
            ok &= within == args.clients
            print(
                f"{change:<8}{(bench.served_at - changed_at) * 1000:>9.0f}ms{min(lat):>6.0f}ms"
                f"{percentile(lat, 50):>6.0f}ms{percentile(lat, 99):>6.0f}ms{max(lat):>6.0f}ms"
                f"{max(lat) - min(lat):>6.0f}ms  {within}/{args.clients} received, "
                f"{'yes' if within == args.clients else 'NO'}"
            )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await session.close()
        await runner.cleanup()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=3)
    parser.add_argument("--pause", type=float, default=2.5, help="seconds before each change")
    parser.add_argument("--timeout", type=float, default=10, help="seconds to wait for a change to reach all")
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
    print(f"ticker on core {args.server_core}; subscribers and fake upstream on core {args.client_core}")
    with Procs() as procs:
        ok = asyncio.run(run(args, procs))
    verdict = "met" if ok else "NOT met"
    print(f"\ngoal: all {args.clients} subscribers get each change within 1 s of its arrival -> {verdict}")
    print("(latencies from the fake serving the new value to each subscriber reading it; see --help)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
