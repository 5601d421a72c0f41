#!/usr/bin/env python3
"""`ticker serve --workers N`: GET /v1/ticker requests per second with 1 and with 2 workers on this machine.

    python bench/workers.py [--workers 1,2] [--rounds 3] [--duration 5] [--concurrency 64]

Both servers are configured alike (TICKER_REDIS_URL to a private redis-server, upstreams pointed at
scripts/fake_upstream.py; --workers 2 needs Redis, so 1 worker gets it too). Nothing is pinned: the workers,
wrk (`-t2 -cC`, two threads), redis-server and the fake upstream share the machine's cores, as they would on
a 2-core host. Each round measures every worker count in turn (the order reversed every other round); the
median over rounds is reported with each round's figure, and the server's CPU time (summed over workers).
SSE subscribers spread across workers: `python bench/sse_fanout.py --workers 2`.
"""

from __future__ import annotations

import argparse
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
    start_fake_upstream,
    start_redis,
    ticker_argv,
    ticker_env,
    wait_http,
)
from _load import cpu_seconds  # noqa: E402


def worker_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children] or [pid]


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
    with Procs() as procs:
        redis = start_redis(procs, None)
        upstream = start_fake_upstream(procs, None)
        servers: dict[int, tuple[int, list[int]]] = {}
        for n in counts:
            port = free_port()
            env = ticker_env(port, upstream, TICKER_REDIS_URL=f"redis://{HOST}:{redis}/{n}")
            argv = ticker_argv() + (["--workers", str(n)] if n > 1 else [])
            proc = procs.start(argv, env)
            wait_http(port, "/readyz", proc, timeout=60)
            time.sleep(2)  # every worker up, not only the first to answer
            servers[n] = (port, worker_pids(proc.pid) if n > 1 else [proc.pid])
            print(f"{n} worker(s): port {port}, pids {servers[n][1]}")
        rps: dict[int, list[float]] = {n: [] for n in counts}
        cpu: dict[int, list[float]] = {n: [] for n in counts}
        for round_ in range(args.rounds):
            order = counts if round_ % 2 == 0 else list(reversed(counts))
            for n in order:
                port, pids = servers[n]
                before = sum(cpu_seconds(p) for p in pids)
                rps[n].append(wrk(port, args.concurrency, args.duration))
                cpu[n].append(sum(cpu_seconds(p) for p in pids) - before)
            print(f"round {round_ + 1}: " + ", ".join(f"{n} worker(s) {rps[n][-1]:,.0f} rps" for n in counts))
    print(f"\nGET /v1/ticker, wrk -t2 -c{args.concurrency}, {args.rounds} x {args.duration:g} s, medians [rounds]:")
    base = median(rps[counts[0]])
    for n in counts:
        rounds = ", ".join(f"{v:,.0f}" for v in rps[n])
        print(
            f"  --workers {n}: {median(rps[n]):,.0f} rps [{rounds}] ({median(rps[n]) / base:.2f}x), "
            f"server CPU {median(cpu[n]) / args.duration:.2f} cores"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
