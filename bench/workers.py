#!/usr/bin/env python3
"""`ticker serve --workers N`: GET /v1/ticker requests per second with 1 and with 2 workers on this machine.

    python bench/workers.py [--workers 1,2] [--rounds 3] [--duration 5] [--concurrency 64]

Both servers run side by side and are configured alike (TICKER_REDIS_URL to a private redis-server, upstreams
pointed at scripts/fake_upstream.py; --workers 2 needs Redis, so 1 worker gets it too). `--workers 1` is the
plain process; `--workers 2` is gunicorn's master with two aiohttp workers sharing its socket. Nothing is
pinned: the workers, wrk (`-t2 -cC`, two threads), redis-server and the fake upstream share the machine's
cores, as they would on a 2-core host. Each round measures every worker count in turn (the order reversed
every other round); the median over rounds is reported with each round's figure, the server's CPU time
(master and workers) and how it split over the workers. SSE subscribers spread across workers:
`python bench/sse_fanout.py --workers 2`.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
from _common import (  # noqa: E402
    HOST,
    Procs,
    free_port,
    machine,
    median,
    raw_get,
    start_fake_upstream,
    start_redis,
    ticker_argv,
    ticker_env,
    wait_http,
)
from _load import cpu_seconds  # noqa: E402


def worker_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(int(c) for c in children) or [pid]


def answering_pid(port: int) -> int | None:
    """The worker that answers /metrics on a new connection (ticker_process_info{pid="..."})."""
    try:
        _, _, body = raw_get(port, "/metrics")
    except OSError:
        return None
    found = re.search(rb'^ticker_process_info\{pid="(\d+)"\}', body, re.MULTILINE)
    return int(found.group(1)) if found else None


def wait_every_worker(port: int, pid: int, workers: int, timeout: float = 60) -> list[int]:
    """Until the master has its workers and each has answered a request: the load then reaches them all."""
    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    while time.monotonic() < deadline:
        pids = worker_pids(pid)
        if len(pids) == workers:
            seen.add(answering_pid(port) or 0)
            if set(pids) <= seen:
                return pids
        time.sleep(0.05)
    raise RuntimeError(f"not every worker of {pid} answered within {timeout}s (seen {sorted(seen)})")


def wrk(port: int, concurrency: int, duration: float) -> float:
    argv = ["wrk", "-t2", f"-c{concurrency}", f"-d{duration:g}s", f"http://{HOST}:{port}/v1/ticker"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx" in out or "Socket errors" in out:
        raise RuntimeError(f"errors under load:\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not found:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    return float(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2", help="worker counts to compare")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5, help="seconds per measurement")
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print("machine:", machine())
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    with Procs() as procs:
        redis = start_redis(procs, None)
        upstream = start_fake_upstream(procs, None)
        servers: dict[int, tuple[int, int, list[int]]] = {}  # workers -> port, main pid, worker pids
        for n in counts:
            port = free_port()
            env = ticker_env(port, upstream, TICKER_REDIS_URL=f"redis://{HOST}:{redis}/{n}")
            argv = ticker_argv() + (["--workers", str(n)] if n > 1 else [])
            proc = procs.start(argv, env)
            wait_http(port, "/readyz", proc, timeout=60)
            pids = wait_every_worker(port, proc.pid, n) if n > 1 else [proc.pid]
            servers[n] = (port, proc.pid, pids)
            print(f"{n} worker(s): port {port}, pid {proc.pid}" + (f", workers {pids}" if n > 1 else ""))
        rps: dict[int, list[float]] = {n: [] for n in counts}
        cpu: dict[int, list[float]] = {n: [] for n in counts}
        split: dict[int, list[float]] = {n: [0.0] * n for n in counts}  # CPU seconds per worker, all rounds
        for round_ in range(args.rounds):
            order = counts if round_ % 2 == 0 else list(reversed(counts))
            for n in order:
                port, main, pids = servers[n]
                every = sorted({main, *pids})
                before = {p: cpu_seconds(p) for p in every}
                rps[n].append(wrk(port, args.concurrency, args.duration))
                spent = {p: cpu_seconds(p) - before[p] for p in every}
                cpu[n].append(sum(spent.values()))
                split[n] = [total + spent[p] for total, p in zip(split[n], pids, strict=True)]
                if n > 1 and worker_pids(main) != pids:
                    raise RuntimeError(f"the workers changed under load: {pids} -> {worker_pids(main)}")
            print(f"round {round_ + 1}: " + ", ".join(f"{n} worker(s) {rps[n][-1]:,.0f} rps" for n in counts))
    print(f"\nGET /v1/ticker, wrk -t2 -c{args.concurrency}, {args.rounds} x {args.duration:g} s, medians [rounds]:")
    base = median(rps[counts[0]])
    for n in counts:
        rounds = ", ".join(f"{v:,.0f}" for v in rps[n])
        shares = "/".join(f"{100 * s / max(sum(split[n]), 1e-9):.0f}%" for s in split[n])
        # requests per second of server CPU: what one request costs, whatever share of the cores the server got
        per_cpu = median([r * args.duration / max(c, 1e-9) for r, c in zip(rps[n], cpu[n], strict=True)])
        print(
            f"  --workers {n}: {median(rps[n]):,.0f} rps [{rounds}] ({median(rps[n]) / base:.2f}x), "
            f"server CPU {median(cpu[n]) / args.duration:.2f} cores"
            + (f" (per worker {shares})" if n > 1 else "")
            + f", {per_cpu:,.0f} requests per server CPU-second"
        )
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    print(f"load average at end: {load} (other work on the machine skews the ratio)")
    if len(counts) == 2:
        a, b = counts
        paired = sorted(y / x for x, y in zip(rps[a], rps[b], strict=True))
        print(
            f"ratio --workers {b} / --workers {a}: {median(rps[b]) / base:.2f} of the medians; within each round "
            f"(measured back to back) median {median(paired):.2f}, range {paired[0]:.2f}-{paired[-1]:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
